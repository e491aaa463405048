"""Officers with ``feedback.answer`` work their agencies' petitions."""

from __future__ import annotations

from backend.db import utcnow
from backend.dossiers.routes.files import FILE_RESPONSES, send_document
from backend.engagement import schemas
from backend.engagement.services import handling
from backend.engagement.workflow import PERMISSION
from backend.identity.access import require_principal, staff_required
from backend.web import Blueprint

blp = Blueprint("agency_feedback", __name__, description="Officers' work on petitions")


def _ours(feedback_id: str, *, lock: bool = False):
    return handling.officer_feedback(
        principal=require_principal(), feedback_id=feedback_id, lock=lock
    )


@blp.route("")
@staff_required(PERMISSION)
@blp.arguments(schemas.OfficerQueueQuerySchema, location="query", as_kwargs=True)
@blp.response(200, schemas.FeedbackPageSchema)
@blp.alt_response(403, response="FORBIDDEN")
def work_queue(status=None, due=None, cursor=None, limit=20):
    """My agencies' petitions, the nearest deadline first"""
    return handling.queue(
        principal=require_principal(),
        status=status,
        due=due,
        cursor=cursor,
        limit=limit,
        now=utcnow(),
    )


@blp.route("/<feedback_id>")
@staff_required(PERMISSION)
@blp.etag
@blp.response(200, schemas.OfficerFeedbackSchema)
@blp.alt_response(403, response="FORBIDDEN")
def get(feedback_id):
    """One petition of my agencies, with its deadlines and timeline"""
    return _ours(feedback_id)


@blp.route("/<feedback_id>/attachments/<attachment_id>")
@staff_required(PERMISSION)
@blp.doc(**FILE_RESPONSES)
@blp.alt_response(403, response="FORBIDDEN")
def attachment(feedback_id, attachment_id):
    """Download a file the sender gave"""
    return send_document(
        handling.attachment(feedback=_ours(feedback_id), attachment_id=attachment_id)
    )


@blp.route("/<feedback_id>/start", methods=["POST"])
@staff_required(PERMISSION)
@blp.arguments(schemas.NoteSchema, required=False)
@blp.response(200, schemas.OfficerFeedbackSchema)
@blp.alt_response(403, response="FORBIDDEN")
@blp.alt_response(409, response="CONFLICT")
def start(data, feedback_id):
    """Take the petition up (within the refusal deadline)"""
    return handling.take_up(
        principal=require_principal(),
        feedback=_ours(feedback_id, lock=True),
        note=data.get("note"),
        now=utcnow(),
    )


@blp.route("/<feedback_id>/refuse", methods=["POST"])
@staff_required(PERMISSION)
@blp.arguments(schemas.ReasonSchema)
@blp.response(200, schemas.OfficerFeedbackSchema)
@blp.alt_response(403, response="FORBIDDEN")
@blp.alt_response(409, response="CONFLICT")
def refuse(data, feedback_id):
    """Refuse the petition, with why"""
    return handling.refuse(
        principal=require_principal(),
        feedback=_ours(feedback_id, lock=True),
        reason=data["reason"],
        now=utcnow(),
    )


@blp.route("/<feedback_id>/request-supplement", methods=["POST"])
@staff_required(PERMISSION)
@blp.arguments(schemas.FeedbackSupplementRequestSchema)
@blp.response(200, schemas.OfficerFeedbackSchema)
@blp.alt_response(403, response="FORBIDDEN")
@blp.alt_response(409, response="CONFLICT")
def request_supplement(data, feedback_id):
    """Ask the sender for more (once; the deadlines wait)"""
    return handling.request_supplement(
        principal=require_principal(),
        feedback=_ours(feedback_id, lock=True),
        items=data["items"],
        note=data.get("note"),
        now=utcnow(),
    )


@blp.route("/<feedback_id>/answer", methods=["POST"])
@staff_required(PERMISSION)
@blp.arguments(schemas.AnswerSchema)
@blp.response(200, schemas.OfficerFeedbackSchema)
@blp.alt_response(403, response="FORBIDDEN")
@blp.alt_response(409, response="CONFLICT")
def answer(data, feedback_id):
    """Answer the petition; the sender is told"""
    return handling.answer(
        principal=require_principal(),
        feedback=_ours(feedback_id, lock=True),
        text=data["answer"],
        now=utcnow(),
    )


@blp.route("/<feedback_id>/publish", methods=["POST"])
@staff_required(PERMISSION)
@blp.arguments(schemas.PublishSchema, required=False)
@blp.response(200, schemas.OfficerFeedbackSchema)
@blp.alt_response(403, response="FORBIDDEN")
@blp.alt_response(409, response="CONFLICT")
def publish(data, feedback_id):
    """Publish the question and its answer for everyone to read"""
    return handling.publish(
        principal=require_principal(),
        feedback=_ours(feedback_id, lock=True),
        public_text=data.get("public_text"),
        now=utcnow(),
    )
