"""What devices, the inbox and channel preferences look like on the wire."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from backend.i18n import current_language
from backend.notifications.models import Channel
from backend.notifications.templates import CHOOSABLE_KINDS, render
from backend.pagination import CursorArgs, page_schema
from backend.web import Schema


class PushDeviceRegistrationSchema(Schema):
    token = ma.fields.String(
        required=True,
        # FCM tokens are printable ASCII; anything else would only fail at every send.
        validate=[
            validate.Length(min=16, max=512),
            validate.Regexp(r"^[!-~]+$", error="Printable ASCII without spaces only."),
        ],
        metadata={"description": "The FCM registration token of this app installation"},
    )
    platform = ma.fields.String(required=True, validate=validate.OneOf(["android", "ios", "web"]))


class PushDeviceSchema(Schema):
    id = ma.fields.String(required=True)
    platform = ma.fields.String(required=True)
    session_id = ma.fields.String(required=True)
    created_at = ma.fields.DateTime(required=True)
    updated_at = ma.fields.DateTime(required=True)


class InboxQuerySchema(CursorArgs):
    unread = ma.fields.Boolean(
        load_default=False, metadata={"description": "Only notifications not read yet"}
    )


class NotificationSchema(Schema):
    """An inbox item, in the language of ``Accept-Language``."""

    id = ma.fields.String(required=True)
    kind = ma.fields.String(required=True, metadata={"example": "dossier.accepted"})
    title = ma.fields.Method("_title", required=True, metadata={"type": "string"})
    body = ma.fields.Method("_body", required=True, metadata={"type": "string"})
    link = ma.fields.Method(
        "_link",
        allow_none=True,
        metadata={"type": "string", "description": "Deep link into the app"},
    )
    data = ma.fields.Dict(
        required=True,
        metadata={
            "description": "What the texts were made from (dossier code...)",
            "additionalProperties": {"type": ["string", "integer", "null"]},
        },
    )
    created_at = ma.fields.DateTime(required=True)
    read_at = ma.fields.DateTime(allow_none=True)

    def _texts(self, row):
        return render(row.kind, row.data, current_language())

    def _title(self, row):
        return self._texts(row).title

    def _body(self, row):
        return self._texts(row).body

    def _link(self, row):
        return self._texts(row).link


NotificationPageSchema = page_schema(NotificationSchema, "NotificationPage")


class UnreadCountSchema(Schema):
    unread = ma.fields.Integer(required=True)


class MarkedSchema(Schema):
    marked = ma.fields.Integer(required=True, metadata={"description": "How many became read"})


_CHANNEL = ma.fields.Enum(Channel, by_value=True)


KIND = {
    "description": "A kind of notification whose channels can be chosen: citizens have the "
    "dossier and feedback kinds, staff the officer kinds (GET lists one's own)",
    "enum": CHOOSABLE_KINDS,
}


class PreferenceSchema(Schema):
    kind = ma.fields.String(required=True, metadata={**KIND, "enum": list(CHOOSABLE_KINDS)})
    channels = ma.fields.List(_CHANNEL, required=True)
    available = ma.fields.List(_CHANNEL, required=True)
    always = ma.fields.List(
        _CHANNEL, required=True, metadata={"description": "Channels that cannot be switched off"}
    )


class PreferenceListSchema(Schema):
    items = ma.fields.List(ma.fields.Nested(PreferenceSchema), required=True)


class PreferenceChoiceSchema(Schema):
    kind = ma.fields.String(required=True, validate=validate.Length(min=1, max=40), metadata=KIND)
    channels = ma.fields.List(_CHANNEL, required=True, validate=validate.Length(max=4))


class PreferenceUpdateSchema(Schema):
    items = ma.fields.List(
        ma.fields.Nested(PreferenceChoiceSchema),
        required=True,
        validate=validate.Length(min=1, max=50),
        metadata={"description": "Kinds not listed keep their current channels"},
    )
