"""Retries on flaky networks: ``Idempotency-Key`` on POSTs that create something.

The first request with a key runs and its answer is kept (24 h at least). The same key with the
same request gets that answer again, without running anything; the same key with another
request is refused (422); a retry that arrives while the first is still running waits for its
answer (or, where the database cannot wait on one key, is told to wait: 409). Keys belong to the
caller, so two people cannot collide on one. A 5xx answer is not kept, nor is the work that led
to it: the request may be tried again with the same key.

The answer given again is the first one: status, body and the headers that say something
about it (``KEPT_HEADERS``), marked ``Idempotent-Replayed: true``.

A request is told apart by its method, path and body. Multipart bodies use a fingerprint the
view gives (the multipart boundary changes on every retry).

The key, the work and the answer commit together, in the request's one transaction
(``backend.unitofwork``); the view runs in a savepoint, so that a refusal's writes can go while
its answer is kept. A process killed at any moment (a phone then retries on another worker)
leaves either all three or none, so the retry gets the first answer or runs afresh, never
"still running" for a request that died. On PostgreSQL a second request
with the same key waits on the unique index while the first runs, then replays its answer.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from copy import deepcopy
from datetime import datetime, timedelta
from functools import wraps
from typing import Any

import sqlalchemy as sa
from flask import current_app, g, make_response, request
from sqlalchemy.orm import Mapped, mapped_column

from backend.apiheaders import IDEMPOTENCY_MARK
from backend.db import created_column, id_column, new_id, utcnow
from backend.errors import Conflict, DomainError, ValidationFailed, handle_domain_error
from backend.extensions import db, on_conflict
from backend.identity.access import current_principal
from backend.unitofwork import keep_despite_refusal, kept_despite_refusal
from backend.web import request_json

HEADER = "Idempotency-Key"
_KEY = re.compile(r"^[A-Za-z0-9._:-]{8,100}$")
# A key claimed without an answer (left by a version that committed the claim on its own) and
# this old belonged to a request that died.
_STALE_AFTER = timedelta(minutes=2)


# What an answer says in its headers, kept with it so that a replay says it too (the document
# declares them): a new draft's ETag and Location, a refusal's language, challenge or wait.
KEPT_HEADERS = ("ETag", "Location", "Content-Language", "WWW-Authenticate", "Retry-After")


class IdempotencyRecord(db.Model):
    __tablename__ = "idempotency_keys"
    __table_args__ = (sa.UniqueConstraint("owner", "key"),)

    id: Mapped[str] = id_column()
    owner: Mapped[str] = mapped_column(sa.String(60))
    key: Mapped[str] = mapped_column(sa.String(100))
    fingerprint: Mapped[str] = mapped_column(sa.String(64))
    status_code: Mapped[int | None] = mapped_column()
    body: Mapped[str | None] = mapped_column(sa.Text)
    content_type: Mapped[str | None] = mapped_column(sa.String(100))
    # The answer's headers a retry must see again (KEPT_HEADERS).
    headers: Mapped[dict[str, str] | None] = mapped_column(sa.JSON)
    created_at: Mapped[datetime] = created_column()
    expires_at: Mapped[datetime] = mapped_column(index=True)


class IdempotencyKeyInvalid(ValidationFailed):
    code = "idempotency-key-invalid"


class IdempotencyKeyReused(ValidationFailed):
    code = "idempotency-key-reused"
    title = ("Khóa chống gửi trùng đã dùng cho yêu cầu khác", "Idempotency key reused")


class IdempotencyKeyRequired(DomainError):
    code = "idempotency-key-required"
    kind = "bad_request"
    title = ("Thiếu khóa chống gửi trùng", "Idempotency-Key required")


class RequestInProgress(Conflict):
    code = "request-in-progress"
    title = ("Yêu cầu đang được xử lý", "The first request is still running")


def json_fingerprint() -> str:
    """The request's JSON, canonical; a body the parser refuses counts by its bytes.

    It is read with the same hardened parser as the view's arguments (this runs first): a
    body nested too deep or carrying a lone surrogate must become the parser's 400, not a 500
    here.
    """
    if not request.is_json:
        return _hash(request.method, request.path, "null")
    try:
        body = request_json()
    except json.JSONDecodeError:
        raw = request.get_data(cache=True)
        return _hash(request.method, request.path, "raw:" + hashlib.sha256(raw).hexdigest())
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return _hash(request.method, request.path, canonical)


def multipart_fingerprint() -> str:
    """Files by content and form fields by value: a retry has a new boundary, not new data."""
    parts = [request.method, request.path]
    for name, file in sorted(request.files.items(multi=True), key=lambda item: item[0]):
        digest = hashlib.sha256()
        for chunk in iter(lambda file=file: file.stream.read(65536), b""):
            digest.update(chunk)
        file.stream.seek(0)
        parts += [name, file.filename or "", digest.hexdigest()]
    parts += [f"{k}={v}" for k, v in sorted(request.form.items(multi=True))]
    return _hash(*parts)


def _hash(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def _owner() -> str:
    principal = current_principal()
    if principal:
        return principal.account_id
    # An anonymous caller who proved something (a phone) owns keys by it, not by a shared IP.
    return g.get("idempotency_owner") or f"ip:{request.remote_addr}"


_RECORDS = IdempotencyRecord.__table__
_CLAIM = on_conflict(
    sa.insert(_RECORDS).returning(_RECORDS.c.id), 'ON CONFLICT (owner, "key") DO NOTHING'
)


# The answer kept with its key. Built once: built for each answer, and run as an ORM update,
# it cost a submission about 700 Python calls.
_KEEP = (
    sa.update(_RECORDS)
    .where(_RECORDS.c.id == sa.bindparam("record_id"))
    .values(
        status_code=sa.bindparam("kept_status"),
        body=sa.bindparam("kept_body"),
        content_type=sa.bindparam("kept_type"),
        headers=sa.bindparam("kept_headers"),
    )
)


def _claim(owner: str, key: str, fingerprint: str, now: datetime) -> str | None:
    """Our record's id, added to the work's transaction, or None when the key is taken.

    One statement (``INSERT ... ON CONFLICT DO NOTHING``): on PostgreSQL it waits while
    another transaction holds the same key, then finds it taken or free.
    """
    ttl = timedelta(seconds=current_app.config["IDEMPOTENCY_KEY_SECONDS"])
    values = {
        "id": new_id(),
        "owner": owner,
        "key": key,
        "fingerprint": fingerprint,
        "created_at": now,
        "expires_at": now + ttl,
    }
    return db.session.scalar(_CLAIM, values)


def _existing(owner: str, key: str) -> IdempotencyRecord | None:
    return db.session.scalar(
        sa.select(IdempotencyRecord).where(
            IdempotencyRecord.owner == owner, IdempotencyRecord.key == key
        )
    )


def idempotent(*, required: bool = False, fingerprint: Callable[[], str] = json_fingerprint):
    """Make a creating POST safe to retry with the same ``Idempotency-Key``.

    The operation declares the key in the OpenAPI document (``backend.apidoc.HeadersPlugin``).
    """

    def decorator(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            key = request.headers.get(HEADER)
            if key is None:
                if required:
                    raise IdempotencyKeyRequired(
                        ("Hãy gửi kèm tiêu đề Idempotency-Key.", "Send an Idempotency-Key header.")
                    )
                return view(*args, **kwargs)
            if not _KEY.match(key):
                raise IdempotencyKeyInvalid(
                    errors={HEADER: ["8-100 letters, digits, '.', '_', ':' or '-'."]}
                )
            owner, print_ = _owner(), fingerprint()
            now = utcnow()
            record_id = _claim(owner, key, print_, now)
            if record_id is None:
                earlier = _existing(owner, key)
                if earlier is not None and earlier.expires_at <= now:
                    db.session.delete(earlier)
                    db.session.flush()
                    earlier, record_id = None, _claim(owner, key, print_, now)
                if record_id is None:
                    if earlier is None:  # it vanished under us: another request holds the key
                        raise RequestInProgress(headers={"Retry-After": "1"})
                    replayed = _replay(earlier, print_, now)
                    if replayed is not None:
                        return replayed
                    record_id = earlier.id
            return _run_and_keep(record_id, view, args, kwargs)

        wrapper._apidoc = deepcopy(getattr(wrapper, "_apidoc", {}))
        manual_doc = wrapper._apidoc.setdefault("manual_doc", {})
        manual_doc[IDEMPOTENCY_MARK] = "required" if required else "optional"
        return wrapper

    return decorator


def _replay(earlier: IdempotencyRecord, print_: str, now: datetime):
    if earlier.fingerprint != print_:
        raise IdempotencyKeyReused(
            (
                "Khóa này đã được dùng cho một yêu cầu khác.",
                "This key was used for a different request.",
            )
        )
    if earlier.status_code is None:
        # Locked, and read again once free: of two retries, one takes it over, the other waits
        # and then replays what the first answered.
        db.session.refresh(earlier, with_for_update=True)
        if earlier.status_code is None:
            if earlier.created_at + _STALE_AFTER > now:
                raise RequestInProgress(headers={"Retry-After": "1"})
            # The first attempt died mid-way; let this one run in its place.
            earlier.created_at = now
            return None
    response = current_app.response_class(
        earlier.body, status=earlier.status_code, content_type=earlier.content_type
    )
    response.headers.update(earlier.headers or {})
    response.headers["Idempotent-Replayed"] = "true"
    return response


def _run_and_keep(record_id: str, view, args, kwargs) -> Any:
    """Run the view in a savepoint of the request's transaction and keep its answer.

    A refusal's writes go with the savepoint (unless the refusal keeps them); the key and the
    answer stay and commit with the request (``backend.unitofwork``). A 5xx keeps nothing:
    the request's rollback takes the key too, and a retry runs afresh.
    """
    work = db.session.begin_nested()
    try:
        response = make_response(view(*args, **kwargs))
    except DomainError as error:
        response = handle_domain_error(error)
    if response.status_code >= 500:
        return response
    if work.is_active:
        if response.status_code >= 400 and not kept_despite_refusal():
            work.rollback()
        else:
            work.commit()
    answer = {name: response.headers[name] for name in KEPT_HEADERS if name in response.headers}
    db.session.execute(
        _KEEP,
        {
            "record_id": record_id,
            "kept_status": response.status_code,
            "kept_body": response.get_data(as_text=True),
            "kept_type": response.content_type,
            "kept_headers": answer,
        },
    )
    keep_despite_refusal()
    return response
