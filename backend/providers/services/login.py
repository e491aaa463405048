"""Signing in through a provider, as the app sees it (RFC 8252 with PKCE on both legs).

1. ``begin_login``: the app's browser arrives with its redirect URI and PKCE challenge; we keep
   a login transaction keyed by a fresh ``state`` (with our own ``nonce`` and PKCE verifier
   towards the provider) and send the browser to the provider.
2. ``finish_login``: the provider sends the browser back. The transaction is consumed first
   (single use, ten minutes), then the code is redeemed, the ID token and userinfo checked, the
   account found or linked, and the browser goes back to the app with a one-time code, or with
   an OAuth ``error`` the app can show.
3. ``redeem_app_code``: the app trades that code (60 s, single use) and its PKCE verifier for a
   session with our own tokens.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import sqlalchemy as sa
from flask import current_app

from backend.crypto import vault
from backend.db import new_id
from backend.errors import DomainError, ValidationFailed
from backend.extensions import db
from backend.identity.models import AccountKind, AccountStatus, Session
from backend.identity.services import sessions
from backend.identity.services.events import record_event
from backend.providers.models import AppCode, IdentityProvider, LoginTransaction
from backend.providers.services import linking, registry
from backend.providers.services.exchange import fetch_userinfo, redeem_provider_code
from backend.providers.services.idtoken import verify_id_token
from backend.providers.services.remote import ProviderError, cache
from backend.unitofwork import keep_despite_refusal


class LoginTransactionInvalid(DomainError):
    code = "login-transaction-invalid"
    kind = "bad_request"
    title = ("Phiên đăng nhập không hợp lệ", "Invalid sign-in attempt")

    def __init__(self):
        super().__init__(
            (
                "Phiên đăng nhập này không tồn tại, đã dùng hoặc đã hết hạn; hãy đăng nhập lại "
                "từ ứng dụng.",
                "This sign-in attempt is unknown, used or expired; start again from the app.",
            )
        )


class RedirectUriNotAllowed(ValidationFailed):
    code = "redirect-uri-not-allowed"


class ProviderDenied(ProviderError):
    code = "provider-denied"
    kind = "unauthorized"
    oauth_error = "access_denied"


class IssuerMismatch(ProviderError):
    code = "authorization-response-issuer-mismatch"
    kind = "unauthorized"
    oauth_error = "access_denied"


class AssuranceTooLow(ProviderError):
    code = "assurance-level-too-low"
    kind = "forbidden"
    oauth_error = "access_denied"


# Errors a provider may send back (RFC 6749 section 4.1.2.1, OpenID Connect Core 3.1.2.6)
# that we pass on to the app as they are; anything else becomes access_denied.
PASSED_ON_ERRORS = frozenset(
    {
        "access_denied",
        "temporarily_unavailable",
        "login_required",
        "interaction_required",
        "consent_required",
        "account_selection_required",
    }
)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def s256(verifier: str) -> str:
    return (
        base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    )


def app_redirect_allowed(uri: str) -> bool:
    """Exact match with the allow-list; a loopback entry without a port allows any port."""
    wanted = urlsplit(uri)
    allow_list = list(current_app.config["APP_REDIRECT_URIS"])
    if current_app.config["DEMO_IDP_ENABLED"]:
        allow_list.append(current_app.config["DEMO_IDP_ISSUER"] + "/app")
    for allowed in allow_list:
        if uri == allowed:
            return True
        entry = urlsplit(allowed)
        if (
            entry.scheme == "http"
            and entry.hostname in ("127.0.0.1", "::1")
            and entry.port is None
            and (wanted.scheme, wanted.hostname, wanted.path)
            == ("http", entry.hostname, entry.path)
            and not wanted.query
            and not wanted.fragment
        ):
            return True
    return False


def _with_query(url: str, params: dict[str, str]) -> str:
    parts = urlsplit(url)
    query = [*parse_qsl(parts.query, keep_blank_values=True), *params.items()]
    return urlunsplit(parts._replace(query=urlencode(query)))


def begin_login(
    *,
    slug: str,
    audience: AccountKind,
    app_redirect_uri: str,
    code_challenge: str,
    app_state: str | None,
    callback_url: str,
    link_account_id: str | None = None,
    now: datetime,
) -> str:
    """Keep a login transaction and return the provider URL to send the browser to."""
    if not app_redirect_allowed(app_redirect_uri):
        raise RedirectUriNotAllowed(errors={"redirect_uri": ["Not registered for the app."]})
    provider = registry.get_enabled_provider(slug=slug)
    discovery = cache().discovery(provider_id=provider.id, issuer=provider.issuer, now=now)
    state, nonce, verifier = (secrets.token_urlsafe(32) for _ in range(3))
    transaction_id = new_id()
    transaction = LoginTransaction(
        id=transaction_id,
        state_digest=digest(state),
        # Sealed to this row: a verifier copied into another transaction does not open.
        pkce_verifier_ciphertext=vault().encrypt(verifier, context=f"login-pkce:{transaction_id}"),
        provider_id=provider.id,
        audience=audience,
        nonce=nonce,
        app_redirect_uri=app_redirect_uri,
        app_code_challenge=code_challenge,
        app_state=app_state,
        link_account_id=link_account_id,
        created_at=now,
        expires_at=now + timedelta(seconds=current_app.config["PROVIDER_LOGIN_SECONDS"]),
    )
    db.session.add(transaction)
    params = {
        "response_type": "code",
        "client_id": provider.client_id,
        "redirect_uri": callback_url,
        "scope": " ".join(provider.scopes),
        "state": state,
        "nonce": nonce,
        "code_challenge": s256(verifier),
        "code_challenge_method": "S256",
    }
    wanted = [acr for acr, level in provider.acr_levels.items() if level >= provider.minimum_level]
    if provider.minimum_level > 0 and wanted:
        params["acr_values"] = " ".join(sorted(wanted))
    db.session.flush()
    return _with_query(discovery["authorization_endpoint"], params)


def _consume(state: str | None, slug: str, now: datetime) -> LoginTransaction:
    transaction = (
        db.session.scalar(
            sa.select(LoginTransaction)
            .where(LoginTransaction.state_digest == digest(state))
            .with_for_update(of=LoginTransaction)
        )
        if state
        else None
    )
    if (
        transaction is None
        or transaction.consumed_at is not None
        or transaction.expires_at <= now
        or transaction.provider.slug != slug
    ):
        raise LoginTransactionInvalid()
    transaction.consumed_at = now
    db.session.flush()
    return transaction


def _app_redirect(transaction: LoginTransaction, params: dict[str, str]) -> str:
    if transaction.app_state is not None:
        params["state"] = transaction.app_state
    return _with_query(transaction.app_redirect_uri, params)


def finish_login(
    *,
    slug: str,
    state: str | None,
    code: str | None,
    error: str | None,
    iss: str | None,
    callback_url: str,
    now: datetime,
) -> str:
    """Check what the provider sent back; the app URL to send the browser to (code or error)."""
    transaction = _consume(state, slug, now)
    provider = transaction.provider
    try:
        # A refusal drops what the check wrote; the login transaction stays spent.
        with db.session.begin_nested():
            if error is not None:
                raise ProviderDenied(
                    (
                        f"Nhà cung cấp định danh trả về: {error[:60]}.",
                        f"The provider said: {error[:60]}.",
                    )
                )
            outcome = _verify(transaction, code=code, iss=iss, callback_url=callback_url, now=now)
    except DomainError as failure:  # the browser is on its way back to the app: tell it there
        default_error = getattr(failure, "oauth_error", "access_denied")
        oauth_error = error if error in PASSED_ON_ERRORS else default_error
        record_event(
            "provider_login_failed",
            account_id=transaction.link_account_id,
            provider=provider.slug,
            reason=failure.code,
        )
        db.session.flush()
        description = failure.detail[1] if isinstance(failure.detail, tuple) else failure.code
        return _app_redirect(
            transaction,
            {"error": oauth_error, "error_code": failure.code, "error_description": description},
        )
    code_value = secrets.token_urlsafe(32)
    account, level, amr, mfa_complete = outcome
    db.session.add(
        AppCode(
            code_digest=digest(code_value),
            account_id=account.id,
            provider_id=provider.id,
            redirect_uri=transaction.app_redirect_uri,
            code_challenge=transaction.app_code_challenge,
            acr=level,
            amr=amr,
            mfa_complete=mfa_complete,
            created_at=now,
            expires_at=now + timedelta(seconds=current_app.config["APP_CODE_SECONDS"]),
        )
    )
    db.session.flush()
    return _app_redirect(transaction, {"code": code_value})


def _verify(
    transaction: LoginTransaction, *, code: str | None, iss: str | None, callback_url: str, now
) -> tuple[Any, int, list[str], bool]:
    provider: IdentityProvider = transaction.provider
    if not provider.enabled:
        raise ProviderDenied(("Nhà cung cấp đã bị tắt.", "The provider has been disabled."))
    discovery = cache().discovery(provider_id=provider.id, issuer=provider.issuer, now=now)
    # RFC 9207: a provider that says it sends iss must send the right one; a wrong one is
    # refused from anyone (a mix-up attack sends another provider's code here).
    if iss is None and discovery.get("authorization_response_iss_parameter_supported") is True:
        raise IssuerMismatch(("Thiếu tham số iss.", "The iss parameter is missing."))
    if iss is not None and iss != provider.issuer:
        raise IssuerMismatch(("Tham số iss không khớp.", "The iss parameter does not match."))
    if not code:
        raise ProviderDenied(("Không có mã ủy quyền.", "No authorization code came back."))
    verifier = vault().decrypt(
        transaction.pkce_verifier_ciphertext, context=f"login-pkce:{transaction.id}"
    )
    answer = redeem_provider_code(
        provider=provider,
        discovery=discovery,
        code=code,
        redirect_uri=callback_url,
        code_verifier=verifier,
        now=now,
    )
    claims = verify_id_token(
        answer["id_token"],
        provider=provider,
        nonce=transaction.nonce,
        now=now,
        access_token=answer.get("access_token"),
    )
    userinfo = fetch_userinfo(discovery=discovery, access_token=answer.get("access_token"))
    if userinfo is not None and userinfo.get("sub") != claims["sub"]:
        raise ProviderDenied(
            ("Userinfo thuộc về người khác.", "The userinfo sub differs from the ID token's.")
        )
    level = registry.level_for_acr(provider, claims.get("acr"))
    if level < provider.minimum_level:
        raise AssuranceTooLow(
            (
                f"Cần đăng nhập định danh mức {provider.minimum_level}; nhà cung cấp xác nhận "
                f"mức {level}.",
                f"A level {provider.minimum_level} sign-in is required; the provider vouched for "
                f"level {level}.",
            )
        )
    provider_amr = claims.get("amr") if isinstance(claims.get("amr"), list) else []
    amr = ["oidc", *[m for m in provider_amr if isinstance(m, str) and len(m) <= 20][:5]]
    if transaction.audience is AccountKind.STAFF:
        account = linking.staff_for_login(
            provider=provider, subject=claims["sub"], level=level, amr=amr, now=now
        )
        return account, level, amr, True
    account = linking.citizen_for_login(
        provider=provider,
        subject=claims["sub"],
        claims={**(userinfo or {}), **claims},
        level=level,
        link_account_id=transaction.link_account_id,
        now=now,
    )
    return account, level, amr, True


def redeem_app_code(
    *, code: str, code_verifier: str, redirect_uri: str, device: dict[str, Any], now: datetime
) -> sessions.TokenPair:
    """Our tokens for a one-time app code; any failed attempt burns the code."""
    stored = db.session.scalar(
        sa.select(AppCode).where(AppCode.code_digest == digest(code)).with_for_update(of=AppCode)
    )
    if stored is None:
        raise sessions.InvalidGrant()
    if stored.consumed_at is not None:
        # Used twice: whoever holds it is not (only) the app; end what the first use opened.
        if stored.session_id is not None:
            session = db.session.get(Session, stored.session_id)
            if session is not None and session.revoked_at is None:
                sessions.revoke_session(
                    account_id=stored.account_id,
                    session_id=session.id,
                    reason="app_code_reuse",
                    now=now,
                )
                keep_despite_refusal()
        raise sessions.InvalidGrant()
    stored.consumed_at = now
    genuine = (
        stored.expires_at > now
        and hmac.compare_digest(stored.redirect_uri, redirect_uri)
        and hmac.compare_digest(stored.code_challenge, s256(code_verifier))
        and stored.account.status is AccountStatus.ACTIVE
    )
    if not genuine:
        record_event("app_code_refused", account_id=stored.account_id)
        keep_despite_refusal()
        raise sessions.InvalidGrant()
    pair = sessions.start_session(
        account=stored.account,
        acr=stored.acr,
        amr=list(stored.amr),
        mfa_complete=stored.mfa_complete,
        device=device,
        now=now,
    )
    stored.session_id = pair.session_id
    record_event(
        "login_succeeded", account_id=stored.account_id, session_id=pair.session_id, amr=stored.amr
    )
    db.session.flush()
    return pair
