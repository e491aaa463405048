"""Petitions from their senders (a citizen's token or an anonymous phone proof), and the
published answers anyone may read."""

from __future__ import annotations

from functools import wraps

from flask import current_app, g, request

from backend import ratelimits
from backend.apiheaders import LOCATION
from backend.crypto import vault
from backend.db import utcnow
from backend.engagement import schemas
from backend.engagement.services import petitions, phone_proofs
from backend.engagement.workflow import Sender
from backend.idempotency import idempotent, multipart_fingerprint
from backend.identity.access import (
    PHONE_PROOF_HEADER,
    NotACitizen,
    current_principal,
    phone_proof_accepted,
    public,
)
from backend.identity.models import AccountKind
from backend.identity.schemas import OtpChallengeSchema
from backend.pagination import CursorArgs
from backend.web import Blueprint, body_accepts, created

blp = Blueprint("feedback", __name__, description="Feedback and petitions (phản ánh, kiến nghị)")
# Petition ids are 26-character ULIDs; the bound keeps /phone-proofs and /public their own.
FEEDBACK_ID = "<string(length=26):feedback_id>"


def _limit(name: str):
    return lambda: current_app.config[name]


def sender_required(view):
    """A signed-in citizen, or an anonymous sender with a live phone proof."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        principal = current_principal()
        if principal is not None:
            if principal.kind is not AccountKind.CITIZEN:
                raise NotACitizen()
            g.sender = Sender(
                account_id=principal.account_id, phone=principal.session.account.phone
            )
        else:
            proof = request.headers.get(PHONE_PROOF_HEADER, "")
            phone = phone_proofs.phone_of_proof(proof=proof, now=utcnow())
            g.sender = Sender(account_id=None, phone=phone)
            g.idempotency_owner = "phone:" + vault().digest(phone, purpose="idempotency")[:40]
        return view(*args, **kwargs)

    return phone_proof_accepted(wrapper)


def _mine(feedback_id: str, *, lock: bool = False):
    return petitions.sender_feedback(sender=g.sender, feedback_id=feedback_id, lock=lock)


@blp.route("/phone-proofs", methods=["POST"])
@public
@ratelimits.limit(_limit("RATELIMIT_OTP_PER_IP"))
@blp.arguments(schemas.PhoneProofRequestSchema)
@blp.response(202, OtpChallengeSchema)
@blp.refusals(429, 503)
def request_phone_proof(data):
    """Send a code to the phone of an anonymous sender"""
    sent = phone_proofs.request_proof_code(phone=data["phone"], now=utcnow())
    return {
        "challenge_id": sent.challenge.id,
        "expires_in": sent.expires_in,
        "resend_after": sent.resend_after,
    }


@blp.route("/phone-proofs/verify", methods=["POST"])
@public
@ratelimits.limit(_limit("RATELIMIT_VERIFY_PER_IP"))
@blp.arguments(schemas.PhoneProofVerifySchema)
@blp.response(200, schemas.PhoneProofSchema)
@blp.refusals(401, 429)
def verify_phone_proof(data):
    """Exchange the code for a phone proof (send it as X-Phone-Proof)"""
    return phone_proofs.issue_proof(
        challenge_id=data["challenge_id"], code=data["code"], now=utcnow()
    )


@blp.route("", methods=["POST"])
@sender_required
@ratelimits.limit(_limit("RATELIMIT_FEEDBACK_PER_IP"))
@idempotent()
@blp.arguments(schemas.FeedbackCreateSchema)
@blp.response(201, schemas.FeedbackSchema, headers=LOCATION)
@blp.refusals(403, 404, 429)
def create(data):
    """Send a petition about a procedure, an agency or one of my dossiers"""
    feedback = petitions.file_petition(
        sender=g.sender,
        subject=data["subject"],
        category=data["category"],
        title=data["title"],
        text=data["text"],
        now=utcnow(),
    )
    return created(feedback, "feedback.get", feedback_id=feedback.id)


@blp.route("")
@sender_required
@blp.arguments(CursorArgs, location="query", as_kwargs=True)
@blp.response(200, schemas.FeedbackPageSchema)
@blp.refusals(403)
def list_mine(cursor=None, limit=20):
    """My petitions, newest first"""
    return petitions.list_mine(sender=g.sender, cursor=cursor, limit=limit)


@blp.route("/public")
@public
@blp.arguments(schemas.PublicFeedbackQuerySchema, location="query", as_kwargs=True)
@blp.response(200, schemas.PublishedFeedbackPageSchema)
def list_published(agency=None, procedure=None, category=None, cursor=None, limit=20):
    """Published answers to petitions, newest first"""
    return petitions.list_published(
        agency_code=agency, procedure_code=procedure, category=category, cursor=cursor, limit=limit
    )


@blp.route(f"/public/{FEEDBACK_ID}")
@public
@blp.etag
@blp.response(200, schemas.PublishedFeedbackSchema)
def get_published(feedback_id):
    """One published answer"""
    return petitions.published(feedback_id=feedback_id)


@blp.route(f"/{FEEDBACK_ID}")
@sender_required
@blp.etag
@blp.response(200, schemas.FeedbackSchema)
@blp.refusals(403)
def get(feedback_id):
    """One of my petitions, with its answer when there is one"""
    return _mine(feedback_id)


@blp.route(f"/{FEEDBACK_ID}/attachments", methods=["POST"])
@sender_required
@body_accepts("multipart/form-data")
@idempotent(fingerprint=multipart_fingerprint)
@blp.arguments(schemas.FileSchema, location="files")
@blp.response(201, schemas.AttachmentRefSchema)
@blp.refusals(403, 409, 413, 422)
def attach(files, feedback_id):
    """Add a file (PDF, JPEG, PNG or HEIC, checked by content) while the petition is open"""
    file = files["file"]
    return petitions.attach(
        feedback=_mine(feedback_id, lock=True),
        stream=file.stream,
        filename=file.filename,
        now=utcnow(),
    )


@blp.route(f"/{FEEDBACK_ID}/supplement", methods=["POST"])
@sender_required
@blp.arguments(schemas.FeedbackSupplementSchema)
@blp.response(200, schemas.FeedbackSchema)
@blp.refusals(403, 409)
def supplement(data, feedback_id):
    """Give what the officer asked for (files first, then this)"""
    return petitions.supplement(
        sender=g.sender, feedback=_mine(feedback_id, lock=True), note=data["note"], now=utcnow()
    )


@blp.route(f"/{FEEDBACK_ID}/helpful", methods=["POST"])
@sender_required
@blp.arguments(schemas.HelpfulSchema)
@blp.response(200, schemas.FeedbackSchema)
@blp.refusals(403, 409)
def judge(data, feedback_id):
    """Say whether the answer helped"""
    return petitions.judge_answer(
        feedback=_mine(feedback_id, lock=True), helpful=data["helpful"], now=utcnow()
    )
