"""The data behind the API bench: a province's dossiers, loaded in SQL, and signed-in callers.

``load`` fills a migrated database holding the demo catalog with citizens and dossiers (statuses,
codes in the Art. 19 form with their daily counters, due dates, timelines) by
``INSERT ... SELECT generate_series``, so the rows never leave PostgreSQL. ``prepare_*`` make
what one run spends: sessions with access tokens minted by ``backend.identity.tokens``, phone
challenges and refresh tokens hashed as the identity services hash them, drafts ready to submit.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from backend.crypto import vault
from backend.db import new_id
from backend.extensions import db
from backend.identity import tokens

# Changing what ``load`` writes changes this, so an older bench database is loaded again.
SHAPE_VERSION = 1
SUBMIT_PROCEDURE = "2.000815"  # certified copies: one document, no e-ID level needed
OFFICER_AGENCY = "001.01.00.H56"

# Share of dossiers in each status, in percent (a province's mix over 18 months).
STATUS_MIX = [
    ("draft", 3),
    ("submitted", 5),
    ("accepted", 5),
    ("processing", 10),
    ("supplement_requested", 3),
    ("fees_due", 2),
    ("decided", 4),
    ("returned", 58),
    ("refused", 4),
    ("withdrawn", 3),
    ("stopped", 3),
]
# The steps each status was reached by, after submission.
PATHS = {
    "draft": [],
    "submitted": [("submit", "draft", "submitted")],
    "accepted": [("accept", "submitted", "accepted")],
    "processing": [("start_processing", "accepted", "processing")],
    "supplement_requested": [("request_supplement", "processing", "supplement_requested")],
    "fees_due": [("request_fees", "processing", "fees_due")],
    "decided": [("decide", "processing", "decided")],
    "returned": [("decide", "processing", "decided"), ("return_result", "decided", "returned")],
    "refused": [("refuse", "submitted", "refused")],
    "withdrawn": [("withdraw", "accepted", "withdrawn")],
    "stopped": [("stop", "processing", "stopped")],
}


def _steps(status: str) -> list[tuple[str, str, str]]:
    """Every step from draft to ``status``, in order."""
    if status == "draft":
        return []
    if status in ("submitted", "refused"):
        head = [PATHS["submitted"][0]]
    elif status in ("accepted", "withdrawn"):
        head = [PATHS["submitted"][0], PATHS["accepted"][0]]
    else:
        head = [PATHS["submitted"][0], PATHS["accepted"][0], PATHS["processing"][0]]
    tail = [step for step in PATHS[status] if step not in head]
    return head + tail


def _status_case(column: str) -> str:
    """SQL picking a status from a uniform [0, 100) number, following STATUS_MIX."""
    parts, upper = [], 0
    for status, share in STATUS_MIX:
        upper += share
        parts.append(f"WHEN {column} < {upper} THEN '{status}'")
    return "CASE " + " ".join(parts) + " END"


def _version_case(column: str) -> str:
    """SQL for a loaded dossier's version: one, plus one per step it went through."""
    parts = [f"WHEN '{status}' THEN {1 + len(_steps(status))}" for status, _ in STATUS_MIX]
    return f"CASE {column} " + " ".join(parts) + " END"


def _sql_id(expression: str) -> str:
    """A 26-character opaque id from a seed expression (same length as our ULIDs)."""
    return f"upper(substr(md5({expression}), 1, 26))"


def shape(citizens: int, dossiers: int) -> str:
    return f"dvc-bench v{SHAPE_VERSION} citizens={citizens} dossiers={dossiers}"


def load(*, citizens: int, dossiers: int) -> None:
    """Fill the database of the current app (migrated, demo catalog seeded); then VACUUM."""
    connection = db.session.connection()
    run = connection.exec_driver_sql
    run("SET LOCAL work_mem = '256MB'")
    run("SET LOCAL maintenance_work_mem = '512MB'")
    # Building an index once over the loaded rows is much faster than keeping it up to date
    # row by row: the plain indexes of the big tables go, and come back as they were after.
    indexes = run(
        "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' AND tablename "
        "IN ('dossiers', 'dossier_events', 'accounts') AND indexname LIKE 'ix_%%'"
    ).all()
    for name, _ in indexes:
        run(f'DROP INDEX "{name}"')
    run(
        f"""
        INSERT INTO accounts (id, kind, status, phone, full_name, preferred_language,
            identity_verified, assurance_level, national_id_last4, created_at, updated_at)
        SELECT {_sql_id("'citizen:' || i")}, 'citizen', 'active',
            '+849' || lpad(i::text, 8, '0'), 'Công dân ' || i, 'vi',
            mod(i, 3) = 2, mod(i, 3), lpad(mod(i, 10000)::text, 4, '0'),
            now() - interval '2 years' + i * interval '1 second',
            now() - interval '2 years' + i * interval '1 second'
        FROM generate_series(1, {citizens}) AS i
        """
    )
    run(
        """
        CREATE TEMP TABLE bench_procedures ON COMMIT DROP AS
        SELECT (row_number() OVER (ORDER BY p.code)) - 1 AS n, p.id, v.id AS version_id,
            p.agency_id, a.code AS agency_code,
            greatest((p.draft -> 'processing_time' ->> 'amount')::int, 1) AS days
        FROM procedures p
        JOIN procedure_versions v ON v.procedure_id = p.id AND v.number = p.current_version
        JOIN agencies a ON a.id = p.agency_id
        WHERE p.status = 'published'
        """
    )
    # Received over the last 18 months; three in four online (a citizen's), the rest at the
    # counter or by post. Codes number each agency's dossiers of a day in order of receipt.
    run(
        f"""
        INSERT INTO dossiers (id, code, procedure_id, procedure_version_id, agency_id,
            citizen_id, channel, status, data, applicant_name, applicant_phone,
            verifier_digests, submitted_acr, version, submitted_at, due_at, decided_at,
            finished_at, office_seconds_spent, supplement_requests, created_at, updated_at)
        SELECT g.id,
            CASE WHEN g.status <> 'draft' THEN g.agency_code || '-'
                || to_char(g.received AT TIME ZONE 'Asia/Ho_Chi_Minh', 'YYMMDD') || '-'
                || lpad((row_number() OVER (
                    PARTITION BY g.agency_id, g.status = 'draft',
                        (g.received AT TIME ZONE 'Asia/Ho_Chi_Minh')::date
                    ORDER BY g.received, g.id))::text, 4, '0') END,
            g.procedure_id, g.version_id, g.agency_id,
            CASE WHEN g.online THEN {_sql_id("'citizen:' || g.citizen")} END,
            CASE WHEN g.online THEN 'online' WHEN g.r2 < 0.2 THEN 'post' ELSE 'counter' END,
            g.status,
            jsonb_build_object('requester_full_name', 'Công dân ' || g.citizen,
                'requester_phone', '+849' || lpad(g.citizen::text, 8, '0'),
                'requester_national_id', '0221990' || lpad(g.citizen::text, 5, '0'),
                'document_title', 'Giấy khai sinh', 'pages', 2, 'copies', 1),
            'Công dân ' || g.citizen, '+849' || lpad(g.citizen::text, 8, '0'),
            jsonb_build_array(md5(g.id || ':phone'), md5(g.id || ':nid')),
            CASE WHEN g.status <> 'draft' AND g.online THEN mod(g.citizen, 3) END,
            {_version_case("g.status")},
            CASE WHEN g.status <> 'draft' THEN g.received END,
            CASE WHEN g.status <> 'draft' THEN g.received + g.days * interval '1.4 days' END,
            CASE WHEN g.status IN ('decided', 'returned')
                THEN g.received + g.days * g.r2 * interval '1.6 days' END,
            CASE WHEN g.status IN ('returned', 'refused', 'withdrawn', 'stopped')
                THEN g.received + g.days * g.r2 * interval '1.6 days' + interval '1 day' END,
            CASE WHEN g.status IN ('decided', 'returned', 'refused', 'stopped')
                THEN (g.days * g.r2 * 1.6 * 8 * 3600)::int END,
            CASE WHEN g.status = 'supplement_requested' THEN 1 ELSE 0 END,
            g.received - interval '20 minutes',
            LEAST(now(), g.received + g.days * g.r2 * interval '1.6 days' + interval '1 day')
        FROM (
            SELECT {_sql_id("'dossier:' || i")} AS id, p.id AS procedure_id, p.version_id,
                p.agency_id, p.agency_code, p.days, r.*,
                now() - r.r1 * interval '540 days' AS received,
                {_status_case("r.r3 * 100")} AS status
            FROM generate_series(1, {dossiers}) AS i
            CROSS JOIN LATERAL (
                SELECT random() + i * 0 AS r1, random() AS r2, random() AS r3,
                    random() < 0.75 AS online,
                    1 + floor(random() * {citizens})::int AS citizen,
                    floor(random() * (SELECT count(*) FROM bench_procedures))::int AS pick
            ) AS r
            JOIN bench_procedures p ON p.n = r.pick
        ) AS g
        """
    )
    # Each status's timeline: the steps that led to it, one event each, in order.
    for status, _ in STATUS_MIX:
        steps = _steps(status)
        if not steps:
            continue
        values = ", ".join(
            f"({seq}, '{action}', '{before}', '{after}')"
            for seq, (action, before, after) in enumerate(steps, start=1)
        )
        run(
            f"""
            INSERT INTO dossier_events (id, dossier_id, seq, action, from_status, to_status,
                actor_id, actor_kind, note, details, created_at)
            SELECT {_sql_id("d.id || ':' || s.seq")}, d.id, s.seq, s.action, s.before,
                s.after, CASE WHEN s.seq = 1 THEN d.citizen_id END,
                CASE WHEN s.seq = 1 AND d.citizen_id IS NOT NULL THEN 'citizen' ELSE 'staff' END,
                NULL, '{{}}'::jsonb,
                d.submitted_at + (s.seq - 1) * (d.updated_at - d.submitted_at) / {len(steps)}
            FROM dossiers d
            CROSS JOIN (VALUES {values}) AS s (seq, action, before, after)
            WHERE d.status = '{status}'
            """
        )
    for _, definition in indexes:
        run(definition)
    run(
        """
        INSERT INTO dossier_counters (agency_id, day, last_number)
        SELECT agency_id, (submitted_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date, count(*)
        FROM dossiers WHERE code IS NOT NULL
        GROUP BY 1, 2
        """
    )
    db.session.commit()


@dataclass
class Caller:
    account_id: str
    session_id: str
    access_token: str


def _insert_sessions(account_ids: list[str], *, now: datetime, acr: int, mfa: bool) -> list[str]:
    rows = [
        {
            "id": new_id(),
            "account_id": account_id,
            "acr": acr,
            "amr": json.dumps(["otp"]),
            "mfa": mfa,
            "now": now,
            "expires": now + timedelta(days=30),
        }
        for account_id in account_ids
    ]
    db.session.execute(
        sa.text(
            "INSERT INTO sessions (id, account_id, acr, amr, mfa_complete, device_name, "
            "platform, app_version, created_at, expires_at) VALUES (:id, :account_id, :acr, "
            "CAST(:amr AS jsonb), :mfa, 'Bench phone', 'android', '1.0.0', :now, :expires)"
        ),
        rows,
    )
    return [row["id"] for row in rows]


def _mint(account_id: str, session_id: str, *, kind: str, acr: int, amr: list[str], now) -> str:
    token, _ = tokens.issue_access_token(
        account_id=account_id, session_id=session_id, kind=kind, acr=acr, amr=amr, now=now
    )
    return token


def expired_tokens(callers: list[Caller]) -> list[str]:
    """Their access tokens as they were an hour ago: signed by us, and expired."""
    then = datetime.now(UTC) - timedelta(hours=1)
    return [
        _mint(c.account_id, c.session_id, kind="citizen", acr=2, amr=["otp"], now=then)
        for c in callers
    ]


def citizens_with_dossiers(count: int) -> list[str]:
    """Citizens in the order they were loaded, so each run signs in the same people."""
    return list(
        db.session.scalars(
            sa.text(
                "SELECT id FROM accounts WHERE kind = 'citizen' AND phone LIKE '+849%' "
                "ORDER BY phone LIMIT :count"
            ),
            {"count": count},
        )
    )


def sign_in_citizens(account_ids: list[str]) -> list[Caller]:
    """A live session per citizen and an access token for it (acr 2, as after VNeID)."""
    now = datetime.now(UTC)
    session_ids = _insert_sessions(account_ids, now=now, acr=2, mfa=False)
    db.session.commit()
    return [
        Caller(a, s, _mint(a, s, kind="citizen", acr=2, amr=["otp"], now=now))
        for a, s in zip(account_ids, session_ids, strict=True)
    ]


def sign_in_officer() -> Caller:
    """A receiving officer of the commune, with a second factor, and their access token."""
    now = datetime.now(UTC)
    account_id = db.session.scalar(
        sa.text("SELECT id FROM accounts WHERE kind = 'staff' AND phone = '+84800000001'")
    )
    if account_id is None:
        account_id = new_id()
        db.session.execute(
            sa.text(
                "INSERT INTO accounts (id, kind, status, phone, full_name, preferred_language, "
                "identity_verified, assurance_level, created_at, updated_at) VALUES (:id, "
                "'staff', 'active', '+84800000001', 'Cán bộ một cửa', 'vi', true, 2, :now, :now)"
            ),
            {"id": account_id, "now": now},
        )
        db.session.execute(
            sa.text(
                "INSERT INTO role_grants (id, account_id, role, agency_id, created_at) "
                "SELECT :id, :account, 'receiving_officer', id, :now FROM agencies "
                "WHERE code = :agency"
            ),
            {"id": new_id(), "account": account_id, "agency": OFFICER_AGENCY, "now": now},
        )
    (session_id,) = _insert_sessions([account_id], now=now, acr=2, mfa=True)
    db.session.commit()
    token = _mint(account_id, session_id, kind="staff", acr=2, amr=["otp", "otp_totp"], now=now)
    return Caller(account_id, session_id, token)


def own_dossiers(account_ids: list[str], *, per_citizen: int) -> list[tuple[str, str]]:
    """(citizen, dossier) pairs among the loaded dossiers of these citizens."""
    rows = db.session.execute(
        sa.text(
            "SELECT citizen_id, id FROM (SELECT citizen_id, id, row_number() OVER "
            "(PARTITION BY citizen_id ORDER BY id) AS n FROM dossiers "
            "WHERE citizen_id = ANY(:ids) AND status <> 'draft') AS d WHERE n <= :per"
        ),
        {"ids": account_ids, "per": per_citizen},
    )
    return [(citizen, dossier) for citizen, dossier in rows]


def prepare_challenges(count: int, *, offset: int) -> list[tuple[str, str]]:
    """Fresh sign-in challenges of loaded citizens' phones: (challenge_id, code) each.

    Each goes to a phone, from ``offset`` on in phone order, that was sent no code in the
    last day. A check reads (and locks) all
    of its phone's challenges of the day, and a real phone gets a few; runs that reused the
    same phones would make each check read more of them than the last."""
    now = datetime.now(UTC)
    phones = list(
        db.session.scalars(
            sa.text(
                "SELECT phone FROM (SELECT phone FROM accounts WHERE kind = 'citizen' AND "
                "phone LIKE '+849%' ORDER BY phone OFFSET :offset) AS later WHERE NOT EXISTS "
                "(SELECT 1 FROM otp_challenges WHERE otp_challenges.phone = later.phone AND "
                "otp_challenges.created_at > :since) ORDER BY phone LIMIT :count"
            ),
            {"offset": offset, "count": count, "since": now - timedelta(days=1)},
        )
    )
    if len(phones) < count:
        raise SystemExit(
            f"only {len(phones)} of the {count} phones needed were sent no code in the last day:"
            " reload the bench data (make bench ARGS=--reload) or wait a day"
        )
    rows, answers = [], []
    digest = vault().digest
    for phone in phones:
        challenge_id, code = new_id(), f"{secrets.randbelow(1_000_000):06d}"
        rows.append(
            {
                "id": challenge_id,
                "phone": phone,
                "digest": digest(f"{challenge_id}:{code}", purpose="otp"),
                "now": now,
                "expires": now + timedelta(minutes=5),
            }
        )
        answers.append((challenge_id, code))
    db.session.execute(
        sa.text(
            "INSERT INTO otp_challenges (id, phone, audience, purpose, code_digest, "
            "failed_attempts, created_at, expires_at) VALUES (:id, :phone, 'citizen', "
            "'sign_in', :digest, 0, :now, :expires)"
        ),
        rows,
    )
    db.session.commit()
    return answers


def prepare_refresh_tokens(account_ids: list[str]) -> list[str]:
    """One session per citizen holding one live refresh token; returns the tokens."""
    now = datetime.now(UTC)
    session_ids = _insert_sessions(account_ids, now=now, acr=0, mfa=False)
    issued = [secrets.token_urlsafe(32) for _ in session_ids]
    db.session.execute(
        sa.text(
            "INSERT INTO refresh_tokens (id, session_id, digest, issued_at, expires_at) "
            "VALUES (:id, :session, :digest, :now, :expires)"
        ),
        [
            {
                "id": new_id(),
                "session": session_id,
                # As backend.identity.services.sessions stores them.
                "digest": hashlib.sha256(token.encode()).hexdigest(),
                "now": now,
                "expires": now + timedelta(days=14),
            }
            for session_id, token in zip(session_ids, issued, strict=True)
        ],
    )
    db.session.commit()
    return issued


def prepare_drafts(callers: list[Caller], count: int) -> list[tuple[Caller, str]]:
    """``count`` complete drafts of the certified-copy procedure, spread over ``callers``."""
    now = datetime.now(UTC)
    procedure = db.session.execute(
        sa.text(
            "SELECT p.id, v.id, p.agency_id FROM procedures p JOIN procedure_versions v "
            "ON v.procedure_id = p.id AND v.number = p.current_version WHERE p.code = :code"
        ),
        {"code": SUBMIT_PROCEDURE},
    ).one()
    phones = dict(
        db.session.execute(
            sa.text("SELECT id, phone FROM accounts WHERE id = ANY(:ids)"),
            {"ids": [c.account_id for c in callers]},
        ).all()
    )
    drafts, documents, attachments = [], [], []
    for number in range(count):
        caller = callers[number % len(callers)]
        dossier_id, document_id = new_id(), new_id()
        phone = phones[caller.account_id]
        data = {
            "document_title": "Giấy khai sinh",
            "pages": 2,
            "copies": 1,
            "requester_full_name": "Nguyễn Văn An",
            "requester_national_id": "022199001234",
            "requester_phone": phone,
        }
        drafts.append(
            {
                "id": dossier_id,
                "procedure": procedure[0],
                "version": procedure[1],
                "agency": procedure[2],
                "citizen": caller.account_id,
                "data": json.dumps(data),
                "phone": phone,
                "now": now,
            }
        )
        documents.append(
            {
                "id": document_id,
                "owner": caller.account_id,
                "key": f"bench/{document_id}",
                "sha": hashlib.sha256(document_id.encode()).hexdigest(),
                "now": now,
            }
        )
        attachments.append(
            {"id": new_id(), "dossier": dossier_id, "document": document_id, "now": now}
        )
    run = db.session.execute
    run(
        sa.text(
            "INSERT INTO dossiers (id, procedure_id, procedure_version_id, agency_id, "
            "citizen_id, channel, status, data, applicant_name, applicant_phone, "
            "verifier_digests, version, supplement_requests, created_at, updated_at) VALUES "
            "(:id, :procedure, :version, :agency, :citizen, 'online', 'draft', "
            "CAST(:data AS jsonb), 'Nguyễn Văn An', :phone, '[]', 1, 0, :now, :now)"
        ),
        drafts,
    )
    run(
        sa.text(
            "INSERT INTO documents (id, owner_id, blob_key, file_name, file_type, size, sha256, "
            "created_at) VALUES (:id, :owner, :key, 'ban-chinh.pdf', 'pdf', 182044, :sha, :now)"
        ),
        documents,
    )
    run(
        sa.text(
            "INSERT INTO dossier_attachments (id, dossier_id, slot, document_id, created_at) "
            "VALUES (:id, :dossier, 'ban_chinh', :document, :now)"
        ),
        attachments,
    )
    db.session.commit()
    return [(callers[number % len(callers)], draft["id"]) for number, draft in enumerate(drafts)]


def sign_in_bound_citizens(account_ids: list[str], keys: list) -> list[Caller]:
    """Like ``sign_in_citizens``, each session bound to a device key (DPoP): its access token
    carries the key's thumbprint (cnf.jkt) and is good only with a proof by that key."""
    now = datetime.now(UTC)
    session_ids = _insert_sessions(account_ids, now=now, acr=2, mfa=False)
    db.session.execute(
        sa.text("UPDATE sessions SET dpop_jkt = :jkt WHERE id = :id"),
        [{"jkt": key.jkt, "id": s} for key, s in zip(keys, session_ids, strict=True)],
    )
    db.session.commit()
    callers = []
    for account_id, session_id, key in zip(account_ids, session_ids, keys, strict=True):
        token, _ = tokens.issue_access_token(
            account_id=account_id,
            session_id=session_id,
            kind="citizen",
            acr=2,
            amr=["otp"],
            now=now,
            dpop_jkt=key.jkt,
        )
        callers.append(Caller(account_id, session_id, token))
    return callers


def prepare_passkey_sign_ins(account_ids: list[str], authenticator_class) -> list[dict]:
    """A passkey per citizen and a sign-in challenge for it, answered by the citizen's
    authenticator (``authenticator_class``: the tests' software one); returns the bodies of
    ``POST /api/v1/auth/passkey/verify``."""
    from fido2 import cbor
    from fido2.cose import ES256

    from backend.identity.services.passkeys import _user_handle

    now = datetime.now(UTC)
    passkeys, challenges, bodies = [], [], []
    for account_id in account_ids:
        phone = authenticator_class()
        handle = _user_handle(account_id)
        registered = phone.create(
            {"challenge": "", "rp": {"id": "localhost"}, "user": {"id": _b64(handle)}}
        )
        credential = phone.credentials[0]
        challenge = _b64(secrets.token_bytes(32))
        challenge_id = secrets.token_urlsafe(32)
        public_key = ES256.from_cryptography_key(credential.key.public_key())
        passkeys.append(
            {
                "id": new_id(),
                "account_id": account_id,
                "credential_id": registered["id"],
                "public_key": cbor.encode(public_key),
                "user_handle": _b64(handle),
                "now": now,
            }
        )
        challenges.append({"id": challenge_id, "challenge": challenge, "now": now})
        answer = phone.get({"challenge": challenge, "rpId": "localhost"})
        bodies.append({"challenge_id": challenge_id, "credential": answer})
    db.session.execute(
        sa.text(
            "INSERT INTO passkeys (id, account_id, credential_id, public_key, sign_count, "
            "user_handle, name, transports, backed_up, acr, created_at) VALUES (:id, "
            ":account_id, :credential_id, :public_key, 0, :user_handle, 'Bench phone', "
            "CAST('[\"internal\"]' AS jsonb), false, 0, :now)"
        ),
        passkeys,
    )
    db.session.execute(
        sa.text(
            "INSERT INTO webauthn_challenges (id, ceremony, challenge, audience, created_at, "
            "expires_at) VALUES (:id, 'sign_in', :challenge, 'citizen', :now, "
            ":now + interval '1 hour')"
        ),
        challenges,
    )
    db.session.commit()
    return bodies


def _b64(data: bytes) -> str:
    import base64

    return base64.urlsafe_b64encode(data).decode().rstrip("=")
