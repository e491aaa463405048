"""Which channels a person wants for each kind, within what the kind allows."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from backend.errors import ValidationFailed
from backend.extensions import db
from backend.identity.models import AccountKind
from backend.notifications.models import Channel, NotificationPreference
from backend.notifications.templates import ALL_CHANNELS, TEMPLATES, Template


class PreferenceRefused(ValidationFailed):
    code = "invalid-notification-preference"


@dataclass(frozen=True)
class KindPreference:
    kind: str
    channels: list[Channel]
    available: list[Channel]
    always: list[Channel]


# The channels an account chose for a kind: a column, not the object (whose load by its key
# cost each notice about 640 Python calls, against about 300).
_CHOSEN = sa.select(NotificationPreference.channels).where(
    NotificationPreference.account_id == sa.bindparam("account_id"),
    NotificationPreference.kind == sa.bindparam("kind"),
)


def chosen_channels(*, account_id: str, template: Template) -> frozenset[Channel]:
    if not template.choosable:
        return template.defaults
    stored = db.session.scalar(_CHOSEN, {"account_id": account_id, "kind": template.kind})
    chosen = frozenset(Channel(c) for c in stored) if stored is not None else template.defaults
    return chosen | template.always


def _choosable(kind: AccountKind) -> list[Template]:
    audience = "staff" if kind is AccountKind.STAFF else "citizen"
    return [t for t in TEMPLATES.values() if t.choosable and t.audience == audience]


def list_preferences(*, account_id: str, account_kind: AccountKind) -> list[KindPreference]:
    stored = {
        p.kind: p
        for p in db.session.scalars(
            sa.select(NotificationPreference).where(NotificationPreference.account_id == account_id)
        )
    }
    items = []
    for template in _choosable(account_kind):
        row = stored.get(template.kind)
        chosen = frozenset(Channel(c) for c in row.channels) if row else template.defaults
        items.append(
            KindPreference(
                kind=template.kind,
                channels=sorted(chosen | template.always),
                available=sorted(ALL_CHANNELS),
                always=sorted(template.always),
            )
        )
    return items


def set_preferences(
    *, account_id: str, account_kind: AccountKind, choices: list[dict]
) -> list[KindPreference]:
    """Set the channels of the kinds given; kinds not given keep their current choice."""
    templates = {t.kind: t for t in _choosable(account_kind)}
    errors: dict[str, list[str]] = {}
    for index, choice in enumerate(choices):
        if choice["kind"] not in templates:
            errors[f"items.{index}.kind"] = ["No such kind, or its channels cannot be chosen."]
    if len({choice["kind"] for choice in choices}) != len(choices):
        errors["items"] = ["Each kind may appear once."]
    if errors:
        raise PreferenceRefused(errors=errors)
    for choice in choices:
        template = templates[choice["kind"]]
        channels = sorted(frozenset(choice["channels"]) | template.always)
        stored = db.session.get(NotificationPreference, (account_id, template.kind))
        if stored is None:
            db.session.add(
                NotificationPreference(
                    account_id=account_id, kind=template.kind, channels=list(channels)
                )
            )
        else:
            stored.channels = list(channels)
    db.session.flush()
    return list_preferences(account_id=account_id, account_kind=account_kind)
