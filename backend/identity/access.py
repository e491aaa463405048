"""Who is calling and what they may do.

Every route needs a valid access token unless its view is marked ``@public``. The token is one
of ours (ES256, short-lived), sent as ``Bearer`` or, when bound to the device's key, as ``DPoP``
with a proof by that key (``backend.identity.dpop``), and its session must still be live:
revoking a session or disabling an account takes effect on the next request. Staff permissions
come from role grants held at an agency and reach that agency's children.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import suppress
from copy import deepcopy
from dataclasses import dataclass, field
from functools import cached_property, wraps

import sqlalchemy as sa
from flask import Flask, Response, current_app, g, request

from backend.agencies.models import Agency
from backend.agencies.services import agency_in_scope, any_top_level, below
from backend.db import utcnow
from backend.errors import DomainError
from backend.extensions import db
from backend.identity import dpop, tokens
from backend.identity.models import AccountKind, RoleGrant, Session
from backend.identity.roles import permissions_of
from backend.identity.services.sessions import Ride, live_session

# Endpoints public by nature, whose views are not ours to mark: the document, the page that
# shows it (backend.docs), and the files of the sign-in page (backend.identity.signin_page).
_LIBRARY_PUBLIC_ENDPOINTS = frozenset(
    {"static", "api-docs.openapi_json", "docs.show", "signin_page.static"}
)
# The credential of an anonymous petitioner who proved their phone (backend.engagement).
PHONE_PROOF_HEADER = "X-Phone-Proof"


class AuthenticationRequired(DomainError):
    code = "authentication-required"
    kind = "unauthorized"
    title = ("Chưa đăng nhập", "Authentication required")

    def __init__(self):
        super().__init__(
            ("Hãy đăng nhập để tiếp tục.", "Sign in to continue."),
            headers={"WWW-Authenticate": 'Bearer realm="dvc-mobile"'},
        )


class Forbidden(DomainError):
    code = "forbidden"
    kind = "forbidden"
    title = ("Không có quyền", "Forbidden")


class StepUpRequired(DomainError):
    """RFC 9470: the session is authenticated, but not strongly enough for this operation."""

    code = "insufficient-user-authentication"
    kind = "unauthorized"
    title = ("Cần xác thực ở mức cao hơn", "Stronger authentication required")

    def __init__(self, *, required_acr: int):
        challenge = (
            'Bearer error="insufficient_user_authentication", '
            f'error_description="A level {required_acr} sign-in is required", '
            f'acr_values="{required_acr}"'
        )
        super().__init__(
            (
                f"Thao tác này cần định danh điện tử mức {required_acr}; hãy đăng nhập bằng "
                "tài khoản định danh điện tử.",
                f"This needs a level {required_acr} electronic identity; sign in with your e-ID.",
            ),
            headers={"WWW-Authenticate": challenge},
            extra={"error": "insufficient_user_authentication", "acr_values": str(required_acr)},
        )


@dataclass
class Principal:
    account_id: str
    kind: AccountKind
    session_id: str
    mfa_complete: bool
    acr: int
    amr: list[str]
    # (role, agency) for every agency each of the person's roles reaches: the agency it was
    # granted at and every agency below it.
    _reach: list[tuple[str, str]] = field(default_factory=list)
    # The access token is bound to the device's key (DPoP) and this call proved it.
    bound: bool = False

    @property
    def is_staff(self) -> bool:
        return self.kind is AccountKind.STAFF

    @property
    def is_citizen(self) -> bool:
        return self.kind is AccountKind.CITIZEN

    @cached_property
    def session(self) -> Session:
        """The session row (and its account), loaded only by the views that use them."""
        return db.session.get(Session, self.session_id)

    @cached_property
    def _permission_agencies(self) -> dict[str, frozenset[str]]:
        """Permission -> ids of every agency it reaches (grant agencies and their children)."""
        reach: dict[str, set[str]] = {}
        for role, agency_id in self._reach:
            for permission in permissions_of(role):
                reach.setdefault(permission, set()).add(agency_id)
        return {permission: frozenset(ids) for permission, ids in reach.items()}

    def agencies_for(self, permission: str) -> frozenset[str]:
        if not self.is_staff or not self.mfa_complete:
            return frozenset()
        return self._permission_agencies.get(permission, frozenset())

    def can(self, permission: str, agency_id: str) -> bool:
        return agency_id in self.agencies_for(permission)

    # The two questions every administration route asks, answered here only.
    def agency(self, permission: str, code: str) -> Agency:
        """The agency with this code if ``permission`` reaches it; any other looks absent (404)."""
        return agency_in_scope(code=code, scope=self.agencies_for(permission))

    def holds_at_top(self, permission: str) -> bool:
        """Whether ``permission`` is held at a ministry or a province (an agency with no parent):
        what national decisions (the calendar, level-2 providers) need."""
        return any_top_level(self.agencies_for(permission))


def current_principal() -> Principal | None:
    return g.get("principal")


def viewer_id() -> str | None:
    """The signed-in account on a public route, if the caller sent a valid token."""
    principal = current_principal()
    return principal.account_id if principal else None


def require_principal() -> Principal:
    principal = current_principal()
    if principal is None:
        raise AuthenticationRequired()
    return principal


def public(view):
    """Mark a view as open to anonymous callers (documented with no security requirement)."""
    view._public = True
    view._apidoc = deepcopy(getattr(view, "_apidoc", {}))
    view._apidoc.setdefault("manual_doc", {})["security"] = []
    return view


class NotACitizen(Forbidden):
    code = "citizens-only"

    def __init__(self):
        super().__init__(("Chức năng này dành cho công dân.", "This is for citizens."))


class NotStaff(Forbidden):
    code = "staff-only"

    def __init__(self):
        super().__init__(("Chức năng này dành cho cán bộ.", "This is for staff."))


class SecondFactorMissing(Forbidden):
    code = "mfa-enrollment-required"

    def __init__(self):
        super().__init__(
            (
                "Cán bộ phải cài đặt ứng dụng xác thực trước khi làm việc.",
                "Staff must set up an authenticator app before working.",
            )
        )


def read_with_session_check(
    ride: Ride,
    *,
    when: Callable[[], bool],
    answer: Callable[[sa.Row], Response | None] | None = None,
):
    """Send the view's first read with the session check when ``when()`` holds: one statement
    and one round trip instead of two (``sessions.Ride``). The check itself is unchanged. The
    view takes the rows with ``ridden(ride)``. A route may carry several, for exclusive
    conditions; put them under the route's other decorators.

    ``answer(row)``, once the caller is known, may answer from the row alone (an unchanged
    poll's 304): the view and its decorators then do not run, so it must refuse nothing they
    would refuse. None lets the view run as usual."""

    def decorate(view):
        view._rides = ((ride, when, answer), *getattr(view, "_rides", ()))
        return view

    return decorate


def ridden(ride: Ride) -> list[sa.Row] | None:
    """The rows ``ride`` brought along with this request's session check (one, or one for
    each row of a read of many); None when it did not ride. The read's part of the row is
    None when it found nothing."""
    taken = g.get("ridden")
    return taken[1] if taken is not None and taken[0] is ride else None


def phone_proof_accepted(view):
    """Let a view be called with a phone proof instead of a bearer token.

    Anonymous petitioners have no account; a proof that their phone received a code stands in
    for one. Without either credential the answer is still 401; the view checks the proof.
    """
    view._phone_proof = True
    view._apidoc = deepcopy(getattr(view, "_apidoc", {}))
    view._apidoc.setdefault("manual_doc", {})["security"] = [
        {"bearerAuth": []},
        {"dpopAuth": []},
        {"phoneProof": []},
    ]
    return view


def citizen_required(view):
    @wraps(view)
    def wrapper(*args, **kwargs):
        if not require_principal().is_citizen:
            raise NotACitizen()
        return view(*args, **kwargs)

    return wrapper


def staff_required(permission: str | None = None):
    """A staff session with its second factor, holding ``permission`` at some agency."""

    def decorator(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            principal = require_principal()
            if not principal.is_staff:
                raise NotStaff()
            if not principal.mfa_complete:
                raise SecondFactorMissing()
            if permission and not principal.agencies_for(permission):
                raise Forbidden(
                    (f"Cần quyền {permission}.", f"The {permission} permission is needed.")
                )
            return view(*args, **kwargs)

        return wrapper

    return decorator


def require_acr(level: int) -> None:
    """Refuse with the RFC 9470 step-up answer when the session is below ``level``."""
    if require_principal().acr < level:
        raise StepUpRequired(required_acr=level)


def require_bound_key() -> None:
    """Refuse (RFC 9449's answer) unless the call's token is bound to the device's key."""
    if not require_principal().bound:
        raise dpop.BindingRequired()


def _credentials() -> tuple[str, str] | None:
    """(scheme, access token) of ``Authorization: Bearer ...`` or ``Authorization: DPoP ...``."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    scheme = scheme.lower()
    return (scheme, token.strip()) if scheme in ("bearer", "dpop") and token.strip() else None


def _authenticate():
    incoming = request._get_current_object()  # each look through the proxy costs calls
    if incoming.routing_exception is not None or incoming.endpoint in _LIBRARY_PUBLIC_ENDPOINTS:
        return None
    view = current_app.view_functions.get(incoming.endpoint or "")
    if view is None:
        return None
    credentials = _credentials()
    if getattr(view, "_public", False):
        # A public route serves anyone; a valid token only adds what that person may see.
        if credentials is not None:
            with suppress(tokens.InvalidToken, dpop.DpopTokenRefused):
                _establish(view, *credentials)
        return None
    if credentials is None:
        if getattr(view, "_phone_proof", False) and request.headers.get(PHONE_PROOF_HEADER):
            return None
        raise AuthenticationRequired()
    return _establish(view, *credentials)


def _establish(view, scheme: str, token: str) -> Response | None:
    """Who is calling (``g.principal``); the ride's answer when it gave one."""
    now = utcnow()
    claims = tokens.verify_access_token(token, now=now)
    dpop.check_access(scheme=scheme, access_token=token, claims=claims)
    ride, answer = next(
        ((ride, answer) for ride, when, answer in getattr(view, "_rides", ()) if when()),
        (None, None),
    )
    staff = ride is None and claims.get("kind") == AccountKind.STAFF.value
    rows = live_session(
        session_id=claims["sid"],
        account_id=claims["sub"],
        now=now,
        ride=_STAFF_REACH if staff else ride,
        **(request.view_args if ride is not None else {}),
    )
    kind, mfa_complete = rows[0].kind, rows[0].mfa_complete
    if ride is not None:
        g.ridden = (ride, rows)
    if kind is not AccountKind.STAFF:
        reach = []  # citizens hold no grants: the account decides, not the token's claim
    elif staff:
        reach = [(row.role, row.agency_id) for row in rows if row.agency_id is not None]
    else:
        reach = _reach_of(claims["sub"])
    g.principal = Principal(
        account_id=claims["sub"],
        kind=kind,
        session_id=claims["sid"],
        mfa_complete=mfa_complete,
        acr=int(claims["acr"]),
        amr=list(claims.get("amr", [])),
        bound="cnf" in claims,
        _reach=reach,
    )
    g.principal_id = claims["sub"]
    return answer(rows[0]) if answer is not None else None


# Every staff request asks what the person's roles reach: the grants and the agency tree below
# them in one recursive statement, built once. A staff token (its ``kind`` claim) sends it with
# the session check; the account's kind, which the check reads, still decides.
_REACH = below(
    sa.select(RoleGrant.role, RoleGrant.agency_id).where(
        RoleGrant.account_id == sa.bindparam("account_id")
    )
)
_STAFF_REACH = Ride.columns(_REACH.subquery("reach"))


def _reach_of(account_id: str) -> list[tuple[str, str]]:
    rows = db.session.execute(_REACH, {"account_id": account_id})
    return [(role, agency_id) for role, agency_id in rows]


def init_app(app: Flask) -> None:
    app.before_request(_authenticate)
