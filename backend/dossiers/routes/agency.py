"""Officers work their agencies' dossiers through the one-stop steps."""

from __future__ import annotations

from backend.apiheaders import LOCATION
from backend.db import utcnow
from backend.dossiers import schemas
from backend.dossiers.services import attachments, citizen, officer
from backend.dossiers.services.access import officer_dossier
from backend.idempotency import idempotent, multipart_fingerprint
from backend.identity.access import require_principal, staff_required
from backend.unitofwork import reads_only
from backend.web import Blueprint, body_accepts, created

blp = Blueprint("agency_dossiers", __name__, description="Officers' work on dossiers")


def _ours(dossier_id: str, *, lock: bool = False):
    return officer_dossier(require_principal(), dossier_id, lock=lock)


@blp.route("")
@staff_required()
@blp.arguments(schemas.QueueQuerySchema, location="query", as_kwargs=True)
@blp.response(200, schemas.DossierPageSchema)
@blp.refusals(403)
@reads_only
def work_queue(
    state="open", status=None, procedure=None, agency=None, due=None, cursor=None, limit=20
):
    """My agencies' open dossiers, most urgent first (filters: state, status, procedure, due)"""
    return officer.queue(
        principal=require_principal(),
        state=state,
        status=status,
        procedure_code=procedure,
        agency_code=agency,
        due=due,
        cursor=cursor,
        limit=limit,
        now=utcnow(),
    )


@blp.route("", methods=["POST"])
@staff_required("dossier.receive")
@idempotent()
@blp.arguments(schemas.CounterDossierSchema)
@blp.response(201, schemas.DossierSchema, headers=LOCATION)
@blp.refusals(403, 404, 409)
def register(data):
    """Register a dossier received at the counter or by post"""
    dossier = officer.register_counter(
        principal=require_principal(),
        procedure_code=data["procedure_code"],
        channel=data["channel"],
        applicant=data["applicant"],
        data=data["data"],
        now=utcnow(),
    )
    return created(dossier, "agency_dossiers.get", dossier_id=dossier.id)


@blp.route("/<dossier_id>")
@staff_required()
@blp.etag
@blp.response(200, schemas.DossierSchema)
@blp.refusals(403)
@reads_only
def get(dossier_id):
    """One dossier of my agencies"""
    return _ours(dossier_id)


@blp.route("/<dossier_id>/events")
@staff_required()
@blp.response(200, schemas.EventListSchema)
@blp.refusals(403)
def events(dossier_id):
    """The dossier's timeline"""
    return {"items": citizen.events(dossier=_ours(dossier_id))}


def _simple_step(path: str, action: str, schema, summary: str, field: str):
    """An endpoint for a step that takes only a note or a reason (a note may be left out)."""
    body_required = any(f.required for f in schema().fields.values())

    @blp.route(f"/<dossier_id>/{path}", methods=["POST"], endpoint=action)
    @staff_required()
    @blp.arguments(schema, required=body_required)
    @blp.response(200, schemas.DossierSchema)
    @blp.alt_response(403, response="FORBIDDEN")
    @blp.alt_response(409, response="CONFLICT")
    @blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
    def step(data, dossier_id):
        return officer.act(
            principal=require_principal(),
            dossier=_ours(dossier_id, lock=True),
            action=action,
            note=data.get(field),
            now=utcnow(),
        )

    step.__doc__ = summary
    return step


_simple_step("accept", "accept", schemas.NoteSchema, "Receive the dossier", "note")
_simple_step("refuse", "refuse", schemas.ReasonSchema, "Refuse to receive it, with why", "reason")
_simple_step("start", "start_processing", schemas.NoteSchema, "Start processing", "note")
_simple_step("confirm-fees", "confirm_fees", schemas.NoteSchema, "Fees paid: go on", "note")
_simple_step("decide", "decide", schemas.NoteSchema, "Decide (result uploaded first)", "note")
_simple_step("return", "return_result", schemas.NoteSchema, "Hand the result over", "note")
_simple_step("stop", "stop", schemas.ReasonSchema, "Stop processing, with why", "reason")


@blp.route("/<dossier_id>/request-supplement", methods=["POST"])
@staff_required()
@blp.arguments(schemas.SupplementSchema)
@blp.response(200, schemas.DossierSchema)
@blp.refusals(403, 409)
def request_supplement(data, dossier_id):
    """Ask the citizen for what is missing (once per dossier; the clock stops)"""
    return officer.request_supplement(
        principal=require_principal(),
        dossier=_ours(dossier_id, lock=True),
        items=data["items"],
        note=data.get("note"),
        now=utcnow(),
    )


@blp.route("/<dossier_id>/request-fees", methods=["POST"])
@staff_required()
@blp.arguments(schemas.FeesSchema)
@blp.response(200, schemas.DossierSchema)
@blp.refusals(403, 409)
def request_fees(data, dossier_id):
    """Ask the citizen to pay fees (the clock stops)"""
    return officer.request_fees(
        principal=require_principal(),
        dossier=_ours(dossier_id, lock=True),
        amount=data["amount"],
        note=data.get("note"),
        now=utcnow(),
    )


@blp.route("/<dossier_id>/extend", methods=["POST"])
@staff_required()
@blp.arguments(schemas.ExtendSchema)
@blp.response(200, schemas.DossierSchema)
@blp.refusals(403, 409)
def extend(data, dossier_id):
    """Give a late dossier a new due date, with an apology to the citizen"""
    return officer.extend_due(
        principal=require_principal(),
        dossier=_ours(dossier_id, lock=True),
        due_at=data["due_at"],
        apology=data["apology"],
        now=utcnow(),
    )


@blp.route("/<dossier_id>/result", methods=["POST"])
@staff_required("dossier.decide")
@body_accepts("multipart/form-data")
@idempotent(fingerprint=multipart_fingerprint)
@blp.arguments(schemas.SlotFileSchema, location="files")
@blp.response(201, schemas.DocumentSchema)
@blp.refusals(403, 409, 422)
def upload_result(files, dossier_id):
    """Upload the result document, before deciding"""
    file = files["file"]
    return attachments.attach_result(
        principal=require_principal(),
        dossier=_ours(dossier_id, lock=True),
        stream=file.stream,
        filename=file.filename,
        now=utcnow(),
    )
