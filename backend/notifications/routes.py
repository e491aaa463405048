"""The signed-in person's notifications: push devices, inbox, channel preferences."""

from __future__ import annotations

from backend.identity.access import require_principal
from backend.notifications import schemas
from backend.notifications.services import devices, inbox, preferences
from backend.web import Blueprint

blp = Blueprint("notifications", __name__, description="Notifications, devices and preferences")


@blp.route("/devices", methods=["POST"])
@blp.arguments(schemas.PushDeviceRegistrationSchema)
@blp.response(201, schemas.PushDeviceSchema)
@blp.alt_response(200, schema=schemas.PushDeviceSchema, description="Already registered")
def register_device(data):
    """Register this session's push token (forgotten when the session ends)"""
    device, created = devices.register_device(
        session=require_principal().session, token=data["token"], platform=data["platform"]
    )
    return device, 201 if created else 200


@blp.route("/notifications")
@blp.arguments(schemas.InboxQuerySchema, location="query", as_kwargs=True)
@blp.response(200, schemas.NotificationPageSchema)
def list_notifications(unread=False, cursor=None, limit=20):
    """My notifications, newest first"""
    return inbox.list_inbox(
        account_id=require_principal().account_id, unread=unread, cursor=cursor, limit=limit
    )


@blp.route("/notifications/unread-count")
@blp.response(200, schemas.UnreadCountSchema)
def unread_count():
    """How many of my notifications are unread"""
    return {"unread": inbox.unread_count(account_id=require_principal().account_id)}


@blp.route("/notifications/<notification_id>/read", methods=["POST"])
@blp.response(200, schemas.NotificationSchema)
def mark_read(notification_id):
    """Mark one notification read"""
    return inbox.mark_read(
        account_id=require_principal().account_id, notification_id=notification_id
    )


@blp.route("/notifications/read-all", methods=["POST"])
@blp.response(200, schemas.MarkedSchema)
def mark_all_read():
    """Mark all my notifications read"""
    return {"marked": inbox.mark_all_read(account_id=require_principal().account_id)}


@blp.route("/notification-preferences")
@blp.response(200, schemas.PreferenceListSchema)
def get_preferences():
    """The channels I get each kind of notification on"""
    principal = require_principal()
    items = preferences.list_preferences(
        account_id=principal.account_id, account_kind=principal.kind
    )
    return {"items": items}


@blp.route("/notification-preferences", methods=["PUT"])
@blp.arguments(schemas.PreferenceUpdateSchema)
@blp.response(200, schemas.PreferenceListSchema)
def put_preferences(data):
    """Choose the channels of some kinds (sign-in codes always go by SMS)"""
    principal = require_principal()
    items = preferences.set_preferences(
        account_id=principal.account_id, account_kind=principal.kind, choices=data["items"]
    )
    return {"items": items}
