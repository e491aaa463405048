"""One env-driven configuration. The defaults run with no service at all (SQLite, memory)."""

from __future__ import annotations

import base64
import ipaddress
import itertools
import os
import secrets
from collections.abc import Mapping
from datetime import time
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit


def _int(environ: Mapping[str, str], name: str, default: int) -> int:
    value = environ.get(name)
    return int(value) if value not in (None, "") else default


# Decision 188/1999/QĐ-TTg gives civil servants an 8-hour day, Monday to Friday; most one-stop
# offices open 07:30-11:30 and 13:00-17:00 (Ho Chi Minh City and many provinces).
DEFAULT_OFFICE_HOURS = "07:30-11:30,13:00-17:00"


def office_hours(text: str, name: str = "OFFICE_HOURS") -> tuple[tuple[time, time], ...]:
    """Parse ``07:30-11:30,13:00-17:00``: a working day's office periods, in Vietnam time."""
    periods: list[tuple[time, time]] = []
    try:
        for part in text.split(","):
            start, end = (time.fromisoformat(bound.strip()) for bound in part.split("-"))
            if start.tzinfo or end.tzinfo:
                raise ValueError("office hours are wall-clock times in Vietnam, without an offset")
            periods.append((start, end))
    except ValueError as error:
        raise RuntimeError(f"{name} must look like {DEFAULT_OFFICE_HOURS}, not {text!r}") from error
    in_order = all(start < end for start, end in periods) and all(
        previous_end <= next_start
        for (_, previous_end), (next_start, _) in itertools.pairwise(periods)
    )
    if not in_order:
        raise RuntimeError(f"{name} periods must be in order and must not overlap: {text!r}")
    return tuple(periods)


def database_url(url: str) -> str:
    """Accept the usual ``postgres://`` spellings and pick the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _instance_secret(instance: Path, name: str) -> str:
    """A development secret kept under instance/ so restarts do not invalidate codes and tokens."""
    path = instance / name
    if path.exists():
        return path.read_text().strip()
    instance.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(48)
    path.write_text(value)
    path.chmod(0o600)
    return value


def _flag(environ: Mapping[str, str], name: str, default: bool) -> bool:
    value = environ.get(name)
    if value in (None, ""):
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _networks(environ: Mapping[str, str], name: str) -> tuple:
    """``10.20.0.0/16,fd12:3456::/48``: IP networks, each written as its network address."""
    text = environ.get(name) or ""
    try:
        return tuple(ipaddress.ip_network(part.strip()) for part in text.split(",") if part.strip())
    except ValueError as error:
        raise RuntimeError(f"{name} must list networks like 10.20.0.0/16, not {text!r}") from error


def _notification_settings(environ: Mapping[str, str], *, env: str, instance: Path) -> dict:
    """Outbox, workers and the push and e-mail channels (backend.notifications)."""
    delivery = environ.get("NOTIFY_DELIVERY") or ("queue" if environ.get("REDIS_URL") else "inline")
    if delivery not in {"inline", "queue"}:
        raise RuntimeError(f"NOTIFY_DELIVERY must be inline or queue, not {delivery!r}")
    fcm_credentials = environ.get("FCM_CREDENTIALS_FILE") or None
    # Push is off in production until FCM is configured; elsewhere it goes to the file channel.
    default_push = "fcm" if fcm_credentials else ("off" if env == "production" else "file")
    push = environ.get("PUSH_CHANNEL") or default_push
    if push not in {"fcm", "file", "off"}:
        raise RuntimeError(f"PUSH_CHANNEL must be fcm, file or off, not {push!r}")
    email = environ.get("EMAIL_CHANNEL") or "file"
    if email not in {"smtp", "file", "off"}:
        raise RuntimeError(f"EMAIL_CHANNEL must be smtp, file or off, not {email!r}")
    return {
        # inline: sent by the process that committed, right after the commit; queue: RQ jobs.
        "NOTIFY_DELIVERY": delivery,
        "NOTIFY_QUEUE": environ.get("NOTIFY_QUEUE", "notifications"),
        "NOTIFY_BATCH_SIZE": _int(environ, "NOTIFY_BATCH_SIZE", 50),
        "NOTIFY_MAX_ATTEMPTS": _int(environ, "NOTIFY_MAX_ATTEMPTS", 8),
        "NOTIFY_RETRY_BASE_SECONDS": _int(environ, "NOTIFY_RETRY_BASE_SECONDS", 15),
        "NOTIFY_RETRY_MAX_SECONDS": _int(environ, "NOTIFY_RETRY_MAX_SECONDS", 3600),
        # A row still "sending" after this long belonged to a worker that died: sweep it back.
        "NOTIFY_SENDING_TIMEOUT_SECONDS": _int(environ, "NOTIFY_SENDING_TIMEOUT_SECONDS", 300),
        # A row still "created" after this long lost its job (Redis down, API killed): sweep it.
        "NOTIFY_DISPATCH_GRACE_SECONDS": _int(environ, "NOTIFY_DISPATCH_GRACE_SECONDS", 60),
        "NOTIFY_KEEP_DAYS": _int(environ, "NOTIFY_KEEP_DAYS", 90),
        "PUSH_CHANNEL": push,
        "FCM_CREDENTIALS_FILE": fcm_credentials,
        "FCM_ENDPOINT": environ.get("FCM_ENDPOINT") or "https://fcm.googleapis.com",
        "FCM_TIMEOUT": float(environ.get("FCM_TIMEOUT", "10")),
        "EMAIL_CHANNEL": email,
        "EMAIL_FROM": environ.get("EMAIL_FROM", "Dịch vụ công <no-reply@dichvucong.local>"),
        "SMTP_HOST": environ.get("SMTP_HOST") or None,
        "SMTP_PORT": _int(environ, "SMTP_PORT", 587),
        "SMTP_USERNAME": environ.get("SMTP_USERNAME") or None,
        "SMTP_PASSWORD": environ.get("SMTP_PASSWORD") or None,
        "SMTP_STARTTLS": _flag(environ, "SMTP_STARTTLS", True),
        "SMTP_TIMEOUT": float(environ.get("SMTP_TIMEOUT", "10")),
    }


DPOP_POLICIES = ("none", "level2", "staff", "all")
# RFC 9449 proofs: asymmetric algorithms only; "none" and HMAC can never be configured.
DPOP_ALGORITHMS = ("ES256", "ES384", "ES512", "EdDSA", "Ed25519", "RS256", "PS256")


def _dpop_settings(environ: Mapping[str, str]) -> dict[str, Any]:
    """Device-bound tokens (RFC 9449, backend.identity.dpop)."""
    required = tuple(
        part.strip()
        for part in (environ.get("DPOP_REQUIRED_FOR") or "none").lower().split(",")
        if part.strip()
    )
    if not required or any(part not in DPOP_POLICIES for part in required):
        raise RuntimeError(
            "DPOP_REQUIRED_FOR must be none, level2, staff or all (level2,staff for both)"
        )
    algorithms = tuple((environ.get("DPOP_SIGNING_ALGS") or " ".join(DPOP_ALGORITHMS)).split())
    if not algorithms or any(alg not in DPOP_ALGORITHMS for alg in algorithms):
        raise RuntimeError(f"DPOP_SIGNING_ALGS may only list {' '.join(DPOP_ALGORITHMS)}")
    return {
        # Which sessions must hold a key: none, level2 (assurance level 2), staff, all.
        "DPOP_REQUIRED_FOR": frozenset(part for part in required if part != "none"),
        "DPOP_SIGNING_ALGS": algorithms,
        # A proof's iat may be this old, or this far ahead of our clock; its jti is kept as long.
        "DPOP_IAT_PAST_SECONDS": _int(environ, "DPOP_IAT_PAST_SECONDS", 60),
        "DPOP_IAT_FUTURE_SECONDS": _int(environ, "DPOP_IAT_FUTURE_SECONDS", 5),
        # Proofs must carry a nonce we issued (DPoP-Nonce), valid this long, when set.
        "DPOP_NONCE_REQUIRED": _flag(environ, "DPOP_NONCE_REQUIRED", False),
        "DPOP_NONCE_SECONDS": max(_int(environ, "DPOP_NONCE_SECONDS", 300), 10),
    }


def _words(environ: Mapping[str, str], name: str, default: str = "") -> tuple[str, ...]:
    return tuple(part.strip() for part in (environ.get(name) or default).split(",") if part.strip())


def _android_origin(fingerprint: str) -> str:
    """``android:apk-key-hash:`` of an APK signing certificate's SHA-256 (AB:CD:... or hex)."""
    try:
        digest = bytes.fromhex(fingerprint.replace(":", ""))
    except ValueError:
        digest = b""
    if len(digest) != 32:
        raise RuntimeError(f"ANDROID_APP_CERT_SHA256: {fingerprint!r} is not a SHA-256 in hex")
    return "android:apk-key-hash:" + base64.urlsafe_b64encode(digest).decode().rstrip("=")


def _passkey_settings(environ: Mapping[str, str]) -> dict[str, Any]:
    """Passkeys (WebAuthn, backend.identity.services.passkeys) and the files the phones read."""
    rp_id = environ.get("WEBAUTHN_RP_ID") or "localhost"
    port = environ.get("PORT") or "5000"
    fingerprints = _words(environ, "ANDROID_APP_CERT_SHA256")
    origins = _words(environ, "WEBAUTHN_ORIGINS") or (f"http://{rp_id}:{port}",)
    return {
        # The RP id is a domain (never an IP address) the origins share; make run: localhost.
        "WEBAUTHN_RP_ID": rp_id,
        "WEBAUTHN_RP_NAME": environ.get("WEBAUTHN_RP_NAME") or "Dịch vụ công",
        # Pages and apps allowed to answer a ceremony: the web origins, plus the Android app
        # (android:apk-key-hash: of each signing certificate); iOS apps use the web origin.
        "WEBAUTHN_ORIGINS": (*origins, *map(_android_origin, fingerprints)),
        # Other sites' origins listed in /.well-known/webauthn (related origin requests).
        "WEBAUTHN_RELATED_ORIGINS": _words(environ, "WEBAUTHN_RELATED_ORIGINS"),
        "WEBAUTHN_CHALLENGE_SECONDS": min(_int(environ, "WEBAUTHN_CHALLENGE_SECONDS", 300), 600),
        # Adding or removing a passkey needs a sign-in (or step-up) this recent.
        "PASSKEY_FRESH_SECONDS": _int(environ, "PASSKEY_FRESH_SECONDS", 300),
        "PASSKEYS_PER_ACCOUNT": _int(environ, "PASSKEYS_PER_ACCOUNT", 10),
        "RATELIMIT_PASSKEY_PER_IP": environ.get("RATELIMIT_PASSKEY_PER_IP", "30/minute;300/hour"),
        # assetlinks.json (Android) and apple-app-site-association (iOS): the apps that may
        # use the RP id's passkeys.
        "ANDROID_APP_PACKAGE": environ.get("ANDROID_APP_PACKAGE") or "vn.dvcmobile.app",
        "ANDROID_APP_CERT_SHA256": fingerprints,
        "IOS_APP_IDS": _words(environ, "IOS_APP_IDS"),
    }


def _engagement_settings(environ: Mapping[str, str]) -> dict[str, Any]:
    """Feedback deadlines, ratings and the quality report (backend.engagement, backend.reports)."""
    threshold = environ.get("UPGRADE_ONLINE_SHARE_PERCENT") or "30"
    try:
        # A Decimal, so that 30 % of a count is compared exactly (29.9 % must never round up).
        percent = Decimal(threshold)
    except InvalidOperation as error:
        raise RuntimeError(
            f"UPGRADE_ONLINE_SHARE_PERCENT must be a number, not {threshold!r}"
        ) from error
    if not percent.is_finite() or not Decimal(0) < percent <= Decimal(100):
        raise RuntimeError("UPGRADE_ONLINE_SHARE_PERCENT must be above 0 and at most 100")
    return {
        # Working days an agency has to refuse a petition, answer it, and publish the answer.
        "FEEDBACK_REFUSE_WORKING_DAYS": _int(environ, "FEEDBACK_REFUSE_WORKING_DAYS", 2),
        "FEEDBACK_ANSWER_WORKING_DAYS": _int(environ, "FEEDBACK_ANSWER_WORKING_DAYS", 15),
        "FEEDBACK_PUBLISH_WORKING_DAYS": _int(environ, "FEEDBACK_PUBLISH_WORKING_DAYS", 2),
        "FEEDBACK_PER_SENDER_PER_DAY": _int(environ, "FEEDBACK_PER_SENDER_PER_DAY", 5),
        "FEEDBACK_MAX_ATTACHMENTS": _int(environ, "FEEDBACK_MAX_ATTACHMENTS", 5),
        "FEEDBACK_ATTACHMENT_MAX_MB": _int(environ, "FEEDBACK_ATTACHMENT_MAX_MB", 10),
        # How long a verified phone may act on its anonymous petitions without a new code.
        "FEEDBACK_PHONE_PROOF_SECONDS": _int(environ, "FEEDBACK_PHONE_PROOF_SECONDS", 30 * 60),
        "RATING_WINDOW_DAYS": _int(environ, "RATING_WINDOW_DAYS", 30),
        "UPGRADE_ONLINE_SHARE_PERCENT": percent,
        "UPGRADE_MIN_DOSSIERS": _int(environ, "UPGRADE_MIN_DOSSIERS", 100),
    }


def load(instance_path: str, environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Settings from the environment; files default to places under ``instance_path``."""
    environ = os.environ if environ is None else environ
    instance = Path(instance_path)
    env = environ.get("APP_ENV", "development")
    if env not in {"development", "production", "testing"}:
        raise RuntimeError(f"APP_ENV must be development, production or testing, not {env!r}")

    secret_key = environ.get("SECRET_KEY")
    if not secret_key:
        if env == "production":
            raise RuntimeError("SECRET_KEY must be set when APP_ENV=production")
        secret_key = _instance_secret(instance, "secret_key")

    storage_url = environ.get("STORAGE_URL") or None
    if storage_url:
        parts = urlsplit(storage_url)
        if parts.scheme not in ("file", "s3") or (parts.scheme == "s3" and not parts.netloc):
            raise RuntimeError("STORAGE_URL must be file:///path or s3://bucket[/prefix]")
    demo_idp = environ.get("DEMO_IDP_ENABLED", "") in {"1", "true", "yes"}
    if demo_idp and env == "production":
        raise RuntimeError("DEMO_IDP_ENABLED is for local trials; it cannot run in production")
    addressing_style = environ.get("S3_ADDRESSING_STYLE") or "auto"
    if addressing_style not in {"auto", "path", "virtual"}:
        raise RuntimeError("S3_ADDRESSING_STYLE must be auto, path or virtual")

    return {
        "APP_ENV": env,
        "INSTANCE_PATH": str(instance),
        "SECRET_KEY": secret_key,
        "SQLALCHEMY_DATABASE_URI": database_url(
            environ.get("DATABASE_URL") or f"sqlite:///{instance / 'dvc.sqlite3'}"
        ),
        "SQLALCHEMY_ENGINE_OPTIONS": {
            # At least one connection per gunicorn thread (the image runs 8): connections past
            # the pool size are closed when returned, so a smaller pool (SQLAlchemy's default
            # is 5) opens a new PostgreSQL connection for many requests under load.
            "pool_size": _int(environ, "DATABASE_POOL_SIZE", 10),
            # A request waiting for a free connection answers 503 after this many seconds.
            "pool_timeout": _int(environ, "DATABASE_POOL_TIMEOUT", 10),
        },
        # A pooled connection unused for longer is pinged before a request uses it.
        "DATABASE_PING_IDLE_SECONDS": float(environ.get("DATABASE_PING_IDLE_SECONDS", "5")),
        # PostgreSQL cancels what runs longer (migrations lift the first two for themselves).
        "DATABASE_STATEMENT_TIMEOUT_MS": _int(environ, "DATABASE_STATEMENT_TIMEOUT_MS", 15_000),
        "DATABASE_LOCK_TIMEOUT_MS": _int(environ, "DATABASE_LOCK_TIMEOUT_MS", 5_000),
        "DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS": _int(
            environ, "DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS", 60_000
        ),
        # What a request waits on a server too frozen to cancel anything (backend/dbwatch.py).
        "DATABASE_REQUEST_DEADLINE_SECONDS": float(
            environ.get("DATABASE_REQUEST_DEADLINE_SECONDS") or 20
        ),
        # Seconds to wait for PostgreSQL to answer a new connection: an unreachable database
        # turns requests into quick 503s instead of hanging them (libpq: 2 at the least).
        "DATABASE_CONNECT_TIMEOUT": _int(environ, "DATABASE_CONNECT_TIMEOUT", 5),
        "REDIS_URL": environ.get("REDIS_URL") or None,
        # Uploads are the biggest bodies; JSON bodies have their own, much smaller, limit.
        "MAX_CONTENT_LENGTH": _int(environ, "MAX_CONTENT_LENGTH", 25 * 1024 * 1024),
        "MAX_JSON_BYTES": _int(environ, "MAX_JSON_BYTES", 256 * 1024),
        # Blobs no row points at are removed once this old, by `flask sweep` at most this often.
        # Never under an hour: a younger blob may be a request's, stored but not yet committed.
        "STORAGE_ORPHAN_AGE_HOURS": max(_int(environ, "STORAGE_ORPHAN_AGE_HOURS", 24), 1),
        "STORAGE_SWEEP_SECONDS": _int(environ, "STORAGE_SWEEP_SECONDS", 3600),
        # Attachments: None means a "blobs" directory under INSTANCE_PATH (see backend.storage).
        "STORAGE_URL": storage_url,
        "S3_ENDPOINT_URL": environ.get("S3_ENDPOINT_URL") or None,
        "S3_REGION": environ.get("S3_REGION") or None,
        "S3_ADDRESSING_STYLE": addressing_style,
        "TRUSTED_PROXY_COUNT": _int(environ, "TRUSTED_PROXY_COUNT", 0),
        "LOG_LEVEL": environ.get("LOG_LEVEL", "INFO"),
        # Secrets at rest: "kid:base64(32 bytes),..." (first seals); else derived from SECRET_KEY.
        "DATA_KEYS": environ.get("DATA_KEYS") or None,
        # Our tokens
        "TOKEN_ISSUER": environ.get("TOKEN_ISSUER", "urn:dvc-mobile"),
        "TOKEN_AUDIENCE": environ.get("TOKEN_AUDIENCE", "dvc-mobile-api"),
        "SIGNING_KEYS_FILE": environ.get("SIGNING_KEYS_FILE")
        or str(instance / "signing_keys.json"),
        "ACCESS_TOKEN_SECONDS": min(_int(environ, "ACCESS_TOKEN_SECONDS", 600), 900),
        "REFRESH_IDLE_SECONDS": _int(environ, "REFRESH_IDLE_SECONDS", 14 * 86400),
        # How long a new staff member's enrolment code lasts (it sets up their authenticator).
        "STAFF_ENROLMENT_CODE_SECONDS": _int(environ, "STAFF_ENROLMENT_CODE_SECONDS", 86400),
        # A refresh retried this soon with the token just rotated gets the same answer again.
        "REFRESH_REUSE_GRACE_SECONDS": _int(environ, "REFRESH_REUSE_GRACE_SECONDS", 30),
        **_dpop_settings(environ),
        **_passkey_settings(environ),
        "SESSION_MAX_SECONDS": _int(environ, "SESSION_MAX_SECONDS", 90 * 86400),
        # Cross-device sign-in (a screen shows a QR, the phone approves): how long a request
        # waits (the cross-device BCP: minutes, not more), the polling interval it asks for,
        # the link the QR holds (the app opens it) and how long the screen's session lasts.
        "CROSS_DEVICE_REQUEST_SECONDS": min(
            _int(environ, "CROSS_DEVICE_REQUEST_SECONDS", 120), 300
        ),
        "CROSS_DEVICE_POLL_SECONDS": _int(environ, "CROSS_DEVICE_POLL_SECONDS", 2),
        "CROSS_DEVICE_LINK": environ.get(
            "CROSS_DEVICE_LINK", "vn.dvcmobile.app:/signin/approve?request="
        ),
        "CROSS_DEVICE_SESSION_SECONDS": _int(environ, "CROSS_DEVICE_SESSION_SECONDS", 3600),
        # Only a phone whose session is bound to its key (DPoP) may approve.
        "CROSS_DEVICE_PHONE_BOUND": _flag(environ, "CROSS_DEVICE_PHONE_BOUND", True),
        "RATELIMIT_CROSS_DEVICE_PER_IP": environ.get(
            "RATELIMIT_CROSS_DEVICE_PER_IP", "20/minute;200/hour"
        ),
        # Phone OTP (NIST SP 800-63B: <= 10 minutes; we default to 5)
        "OTP_TTL_SECONDS": min(_int(environ, "OTP_TTL_SECONDS", 300), 600),
        "OTP_MAX_ATTEMPTS": _int(environ, "OTP_MAX_ATTEMPTS", 5),
        "OTP_RESEND_SECONDS": _int(environ, "OTP_RESEND_SECONDS", 60),
        "OTP_PER_PHONE_PER_HOUR": _int(environ, "OTP_PER_PHONE_PER_HOUR", 5),
        "OTP_FAILURES_PER_PHONE_PER_DAY": _int(environ, "OTP_FAILURES_PER_PHONE_PER_DAY", 15),
        "RATELIMIT_OTP_PER_IP": environ.get("RATELIMIT_OTP_PER_IP", "10/minute;60/hour"),
        "RATELIMIT_VERIFY_PER_IP": environ.get("RATELIMIT_VERIFY_PER_IP", "30/minute;300/hour"),
        "RATELIMIT_VERIFY_PER_DEVICE": environ.get("RATELIMIT_VERIFY_PER_DEVICE", "10/minute"),
        "RATELIMIT_TOKEN_PER_IP": environ.get("RATELIMIT_TOKEN_PER_IP", "60/minute"),
        "RATELIMIT_TRACKING_PER_IP": environ.get("RATELIMIT_TRACKING_PER_IP", "20/minute"),
        # Wrong authenticator codes of one signed-in account (step-up, confirm, disable, ...).
        "RATELIMIT_TOTP_PER_ACCOUNT": environ.get("RATELIMIT_TOTP_PER_ACCOUNT", "5/minute;20/hour"),
        # Wrong four-digit verifiers (counter dossiers) one address may try, whatever the code.
        "RATELIMIT_TRACKING_VERIFIER_PER_IP": environ.get(
            "RATELIMIT_TRACKING_VERIFIER_PER_IP", "10/hour"
        ),
        "RATELIMIT_PROVIDER_LOGIN_PER_IP": environ.get(
            "RATELIMIT_PROVIDER_LOGIN_PER_IP", "30/minute;300/hour"
        ),
        **_notification_settings(environ, env=env, instance=instance),
        "RATELIMIT_FEEDBACK_PER_IP": environ.get("RATELIMIT_FEEDBACK_PER_IP", "120/hour"),
        **_engagement_settings(environ),
        # SMS delivery
        "SMS_CHANNEL": environ.get("SMS_CHANNEL", "file"),
        # The file channel's JSON lines: SMS, and push and e-mail when they use it too.
        "SMS_OUTBOX_FILE": environ.get("SMS_OUTBOX_FILE") or str(instance / "outbox.jsonl"),
        "SMS_GATEWAY_URL": environ.get("SMS_GATEWAY_URL") or None,
        "SMS_GATEWAY_TOKEN": environ.get("SMS_GATEWAY_TOKEN") or None,
        "SMS_GATEWAY_BODY": environ.get("SMS_GATEWAY_BODY", '{"to": "{to}", "text": "{text}"}'),
        "SMS_GATEWAY_TIMEOUT": float(environ.get("SMS_GATEWAY_TIMEOUT", "10")),
        "IDEMPOTENCY_KEY_SECONDS": _int(environ, "IDEMPOTENCY_KEY_SECONDS", 24 * 3600),
        # Identity providers (backend.providers). PUBLIC_BASE_URL is what providers redirect
        # back to; unset, the request's own host is used (fine on one host, not behind proxies).
        "PUBLIC_BASE_URL": (environ.get("PUBLIC_BASE_URL") or "").rstrip("/") or None,
        # Where the browser may hand the one-time code back to the app (RFC 8252): exact URIs;
        # an http://127.0.0.1/path entry accepts any port (section 7.3).
        "APP_REDIRECT_URIS": tuple(
            uri.strip()
            for uri in environ.get("APP_REDIRECT_URIS", "vn.dvcmobile.app:/oauth2/callback").split(
                ","
            )
            if uri.strip()
        ),
        "PROVIDER_HTTP_TIMEOUT": float(environ.get("PROVIDER_HTTP_TIMEOUT", "5")),
        # Providers on loopback or a private network: the demo and test providers, never the
        # default in production (see backend/providers/services/outbound.py).
        "PROVIDER_ALLOW_PRIVATE_NETWORKS": _flag(
            environ, "PROVIDER_ALLOW_PRIVATE_NETWORKS", env != "production"
        ),
        # Non-public networks a provider may still be reached at while they are refused (one
        # reached over a government network); the operator vouches for every host in them.
        "PROVIDER_ALLOWED_NETWORKS": _networks(environ, "PROVIDER_ALLOWED_NETWORKS"),
        "PROVIDER_LOGIN_SECONDS": _int(environ, "PROVIDER_LOGIN_SECONDS", 600),
        "APP_CODE_SECONDS": _int(environ, "APP_CODE_SECONDS", 60),
        "PROVIDER_JWKS_REFETCH_SECONDS": _int(environ, "PROVIDER_JWKS_REFETCH_SECONDS", 10),
        "PROVIDER_DISCOVERY_SECONDS": _int(environ, "PROVIDER_DISCOVERY_SECONDS", 3600),
        "CLIENT_SIGNING_KEYS_FILE": environ.get("CLIENT_SIGNING_KEYS_FILE")
        or str(instance / "client_signing_keys.json"),
        "DEMO_IDP_ENABLED": demo_idp,
        "DEMO_IDP_ISSUER": (
            environ.get("DEMO_IDP_ISSUER") or "http://127.0.0.1:5000/demo-idp"
        ).rstrip("/"),
        "PROBLEM_TYPE_BASE": environ.get("PROBLEM_TYPE_BASE", "urn:dvc-mobile:problem:"),
        # Deadlines in working hours run only inside these periods (backend.workdays).
        "OFFICE_HOURS": office_hours(environ.get("OFFICE_HOURS") or DEFAULT_OFFICE_HOURS),
        # flask-smorest
        "API_TITLE": "dvc-mobile",
        "API_VERSION": "1.0.0",
        "OPENAPI_VERSION": "3.1.0",
        "OPENAPI_URL_PREFIX": "/",
        "OPENAPI_JSON_PATH": "openapi.json",
        "API_SPEC_OPTIONS": {
            "info": {
                "description": (
                    "API for the dvc-mobile smartphone app: online public services "
                    "(Circular 01/2018/TT-VPCP, Article 21). Errors are RFC 9457 problem+json."
                ),
            },
            "servers": [{"url": "/"}],
            # Every operation needs an access token unless it says otherwise: a bearer token,
            # or one bound to the device's key with its DPoP proof (RFC 9449).
            "security": [{"bearerAuth": []}, {"dpopAuth": []}],
        },
        # Rate limits (backend.ratelimits): where they are counted, and their keys' prefix.
        "RATELIMIT_STORAGE_URI": environ.get("REDIS_URL") or "memory://",
        "RATELIMIT_KEY_PREFIX": "dvc-rl",
    }
