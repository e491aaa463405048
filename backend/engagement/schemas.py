"""Petitions and ratings on the wire: what a sender, an officer and the public each see."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from backend.agencies.schemas import AGENCY_CODE, AgencyRefSchema
from backend.apidoc import Derived
from backend.catalog.schemas import PROCEDURE_CODE
from backend.dossiers.schemas import NOTE, NoteSchema, ProcedureRefSchema, ReasonSchema
from backend.engagement.models import (
    FEEDBACK_CATEGORY_LABELS,
    FEEDBACK_STATUS_LABELS,
    RATING_CRITERIA,
    FeedbackCategory,
    FeedbackStatus,
    SatisfactionLevel,
)
from backend.engagement.services.handling import events
from backend.engagement.services.ratings import level_of
from backend.engagement.workflow import OFFICER, allowed_actions
from backend.i18n import pick
from backend.pagination import CursorArgs, page_schema
from backend.parsing import Token
from backend.phones import PhoneField
from backend.web import Schema

TEXT = validate.Length(min=1, max=10000)
__all__ = ["NoteSchema", "ReasonSchema"]  # the officers' steps take the dossiers' note and reason


class FeedbackSubjectSchema(Schema):
    """Exactly one of: a procedure, an agency, or one of my dossiers."""

    procedure_code = ma.fields.String(validate=PROCEDURE_CODE)
    agency_code = ma.fields.String(validate=AGENCY_CODE)
    dossier_id = ma.fields.String(
        validate=validate.Length(min=1, max=40),
        metadata={"description": "One of my dossiers (signed-in citizens only)"},
    )

    @ma.validates_schema
    def _exactly_one(self, data, **kwargs):
        if len(data) != 1:
            raise ma.ValidationError(
                "Give exactly one of procedure_code, agency_code, dossier_id.", "_schema"
            )


class FeedbackCreateSchema(Schema):
    subject = ma.fields.Nested(FeedbackSubjectSchema, required=True)
    category = ma.fields.Enum(FeedbackCategory, by_value=True, required=True)
    title = ma.fields.String(required=True, validate=validate.Length(min=1, max=200))
    text = ma.fields.String(required=True, validate=TEXT)


class FileSchema(Schema):
    file = ma.fields.Raw(required=True, metadata={"type": "string", "format": "binary"})


class AttachmentRefSchema(Schema):
    id = ma.fields.String(required=True)
    file_name = ma.fields.String(required=True)
    file_type = ma.fields.String(required=True)
    size = ma.fields.Integer(required=True)
    created_at = ma.fields.DateTime(required=True)


class DossierRefSchema(Schema):
    id = ma.fields.String(required=True)
    code = ma.fields.String(allow_none=True, required=True)


def _status_label(feedback) -> str:
    return pick(FEEDBACK_STATUS_LABELS[feedback.status])


def _category_label(feedback) -> str:
    return pick(FEEDBACK_CATEGORY_LABELS[feedback.category])


class FeedbackSummarySchema(Schema):
    id = ma.fields.String(required=True)
    status = ma.fields.Enum(FeedbackStatus, by_value=True, required=True)
    status_label = ma.fields.Function(_status_label, required=True, metadata={"type": "string"})
    category = ma.fields.Enum(FeedbackCategory, by_value=True, required=True)
    category_label = ma.fields.Function(_category_label, required=True, metadata={"type": "string"})
    title = ma.fields.String(required=True)
    agency = ma.fields.Nested(AgencyRefSchema, required=True)
    procedure = ma.fields.Nested(ProcedureRefSchema, allow_none=True, required=True)
    received_at = ma.fields.DateTime(required=True)
    answer_due_at = ma.fields.DateTime(required=True)
    updated_at = ma.fields.DateTime(required=True)


class FeedbackSchema(FeedbackSummarySchema):
    """A petition as its sender sees it."""

    dossier_id = ma.fields.String(allow_none=True, required=True)
    text = ma.fields.String(required=True)
    attachments = ma.fields.List(ma.fields.Nested(AttachmentRefSchema), required=True)
    supplement_items = ma.fields.List(ma.fields.String(), allow_none=True, required=True)
    answer = ma.fields.String(allow_none=True, required=True)
    answered_at = ma.fields.DateTime(allow_none=True, required=True)
    published_at = ma.fields.DateTime(allow_none=True, required=True)
    refusal_reason = ma.fields.String(allow_none=True, required=True)
    helpful = ma.fields.Boolean(allow_none=True, required=True)
    version = ma.fields.Integer(required=True)


class FeedbackEventSchema(Schema):
    seq = ma.fields.Integer(required=True)
    action = ma.fields.String(required=True)
    from_status = ma.fields.Enum(FeedbackStatus, by_value=True, allow_none=True, required=True)
    to_status = ma.fields.Enum(FeedbackStatus, by_value=True, required=True)
    actor_kind = ma.fields.String(required=True)
    note = ma.fields.String(allow_none=True, required=True)
    created_at = ma.fields.DateTime(required=True)


class OfficerFeedbackSchema(FeedbackSchema):
    """A petition as an officer of its agency sees it: deadlines, sender kind, timeline."""

    sender_kind = ma.fields.Function(
        lambda f: "citizen" if f.sender_id else "anonymous",
        required=True,
        metadata={"type": "string", "enum": ["citizen", "anonymous"]},
    )
    due_at = ma.fields.DateTime(allow_none=True, required=True)
    refuse_due_at = ma.fields.DateTime(required=True)
    publish_due_at = ma.fields.DateTime(allow_none=True, required=True)
    public_text = ma.fields.String(allow_none=True, required=True)
    allowed_actions = ma.fields.Function(
        lambda f: _officer_actions(f),
        required=True,
        metadata={
            "type": "array",
            "items": {"type": "string"},
            "description": "Steps possible now",
        },
    )
    events = Derived(ma.fields.Nested(FeedbackEventSchema), lambda f: _events(f), required=True)


def _events(feedback):
    return events(feedback=feedback)


def _officer_actions(feedback) -> list[str]:
    return allowed_actions(feedback, actor=OFFICER)


class PublishedFeedbackSchema(Schema):
    """A published answer: the question (as published) and the answer, never the sender."""

    id = ma.fields.String(required=True)
    category = ma.fields.Enum(FeedbackCategory, by_value=True, required=True)
    category_label = ma.fields.Function(_category_label, required=True, metadata={"type": "string"})
    title = ma.fields.String(required=True)
    text = ma.fields.Function(
        lambda f: f.public_text or f.text, required=True, metadata={"type": "string"}
    )
    agency = ma.fields.Nested(AgencyRefSchema, required=True)
    procedure = ma.fields.Nested(ProcedureRefSchema, allow_none=True, required=True)
    received_at = ma.fields.DateTime(required=True)
    answer = ma.fields.String(required=True)
    answered_at = ma.fields.DateTime(required=True)
    published_at = ma.fields.DateTime(required=True)


class PublicFeedbackQuerySchema(CursorArgs):
    agency = ma.fields.String(validate=AGENCY_CODE, metadata={"description": "With its children"})
    procedure = ma.fields.String(validate=PROCEDURE_CODE)
    category = ma.fields.Enum(FeedbackCategory, by_value=True)


class OfficerQueueQuerySchema(CursorArgs):
    status = ma.fields.Enum(FeedbackStatus, by_value=True)
    due = ma.fields.String(
        validate=validate.OneOf(["soon", "overdue"]),
        metadata={"description": "soon: within one working day; overdue: past its deadline"},
    )


class FeedbackSupplementRequestSchema(Schema):
    items = ma.fields.List(
        ma.fields.String(validate=validate.Length(min=1, max=500)),
        required=True,
        validate=validate.Length(min=1, max=30),
        metadata={"description": "What the sender should add or make clear"},
    )
    note = ma.fields.String(validate=NOTE)


class FeedbackSupplementSchema(Schema):
    note = ma.fields.String(required=True, validate=TEXT)


class AnswerSchema(Schema):
    answer = ma.fields.String(required=True, validate=TEXT)


class PublishSchema(Schema):
    public_text = ma.fields.String(
        validate=TEXT,
        metadata={"description": "The question as published, personal details left out"},
    )


class HelpfulSchema(Schema):
    helpful = ma.fields.Boolean(required=True)


class PhoneProofRequestSchema(Schema):
    phone = PhoneField(required=True, metadata={"example": "0912345678"})


class PhoneProofVerifySchema(Schema):
    challenge_id = Token(required=True, max_length=40)
    code = ma.fields.String(required=True, validate=validate.Regexp(r"^\d{6}$"))


class PhoneProofSchema(Schema):
    phone_proof = ma.fields.String(
        required=True, attribute="proof", metadata={"description": "Send as X-Phone-Proof"}
    )
    expires_in = ma.fields.Integer(required=True, metadata={"description": "seconds"})


# --- ratings ----------------------------------------------------------------------------

SCORE = validate.Range(min=1, max=5)


def _score(description: str) -> ma.fields.Integer:
    return ma.fields.Integer(
        required=True, strict=True, validate=SCORE, metadata={"description": description}
    )


class RatingCreateSchema(Schema):
    time = _score("Was the result on time? 1 (no) to 5 (fully)")
    staff_attitude = _score("Staff attitude, 1 to 5")
    clarity = _score("Were the requirements clear? 1 to 5")
    online_ease = _score("Ease of the online service, 1 to 5")
    comment = ma.fields.String(validate=validate.Length(max=2000))


class RatingSchema(RatingCreateSchema):
    dossier_id = ma.fields.String(required=True)
    average = ma.fields.Function(
        lambda r: round(sum(getattr(r, name) for name in RATING_CRITERIA) / 4, 2),
        required=True,
        metadata={"type": "number"},
    )
    level = ma.fields.Function(
        lambda r: level_of(sum(getattr(r, name) for name in RATING_CRITERIA)).value,
        required=True,
        metadata={"type": "string", "enum": [level.value for level in SatisfactionLevel]},
    )
    comment = ma.fields.String(allow_none=True, required=True)
    created_at = ma.fields.DateTime(required=True)


FeedbackPageSchema = page_schema(FeedbackSummarySchema, "FeedbackPage")
PublishedFeedbackPageSchema = page_schema(PublishedFeedbackSchema, "PublishedFeedbackPage")
