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
@blp.refusals(403)
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
@blp.refusals(403)
def get(feedback_id):
    """One petition of my agencies, with its deadlines and timeline"""
    return _ours(feedback_id)


@blp.route("/<feedback_id>/attachments/<attachment_id>")
@staff_required(PERMISSION)
@blp.doc(**FILE_RESPONSES)
@blp.refusals(403)
def attachment(feedback_id, attachment_id):
    """Download a file the sender gave"""
    return send_document(
        handling.attachment(feedback=_ours(feedback_id), attachment_id=attachment_id)
    )


def _officer_step(path: str, use_case, schema, summary: str, **fields: str):
    """An endpoint for one step of the petition's life: ``use_case`` gets the petition (locked),
    the officer, the time, and each keyword of ``fields`` from the body field it names."""
    body_required = any(f.required for f in schema().fields.values())

    @blp.route(f"/<feedback_id>/{path}", methods=["POST"], endpoint=use_case.__name__)
    @staff_required(PERMISSION)
    @blp.arguments(schema, required=body_required)
    @blp.response(200, schemas.OfficerFeedbackSchema)
    @blp.alt_response(403, response="FORBIDDEN")
    @blp.alt_response(409, response="CONFLICT")
    @blp.doc(summary=summary)
    def step(data, feedback_id):
        return use_case(
            principal=require_principal(),
            feedback=_ours(feedback_id, lock=True),
            now=utcnow(),
            **{keyword: data.get(field) for keyword, field in fields.items()},
        )

    return step


_officer_step(
    "start",
    handling.take_up,
    schemas.NoteSchema,
    "Take the petition up (within the refusal deadline)",
    note="note",
)
_officer_step(
    "refuse",
    handling.refuse,
    schemas.ReasonSchema,
    "Refuse the petition, with why",
    reason="reason",
)
_officer_step(
    "request-supplement",
    handling.request_supplement,
    schemas.FeedbackSupplementRequestSchema,
    "Ask the sender for more (once; the deadlines wait)",
    items="items",
    note="note",
)
_officer_step(
    "answer", handling.answer, schemas.AnswerSchema, "Answer the petition; the sender is told",
    text="answer",
)  # fmt: skip
_officer_step(
    "publish",
    handling.publish,
    schemas.PublishSchema,
    "Publish the question and its answer for everyone to read",
    public_text="public_text",
)
