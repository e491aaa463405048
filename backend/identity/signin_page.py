"""``/signin``: the page a portal or kiosk shows to be signed in by the citizen's phone.

Server-rendered, no build step and nothing from a CDN: a Jinja page, a stylesheet and a few
lines of plain JavaScript served from this package. The page keeps its PKCE verifier to itself,
starts a cross-device request through the public API, shows the QR (drawn here, as SVG) and
the number to pick, and polls until the phone decides. A strict Content-Security-Policy lets
it load and call nothing but this server.
"""

from __future__ import annotations

import io

from flask import Blueprint, Response, render_template, request, url_for

from backend.db import utcnow
from backend.errors import NotFound
from backend.extensions import db
from backend.identity.access import public
from backend.identity.models import CrossDeviceStatus, SigninClient
from backend.identity.services import crossdevice

blp = Blueprint(
    "signin_page",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/signin/static",
)

POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


class ScreenNotFound(NotFound):
    code = "signin-client-unknown"
    title = ("Màn hình đăng nhập chưa được đăng ký", "This sign-in screen is not registered")


@blp.after_request
def _locked_down(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = POLICY
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@blp.route("/signin")
@public
def page():
    client_id = request.args.get("client", "")
    client = db.session.get(SigninClient, client_id) if 0 < len(client_id) <= 26 else None
    if client is None or client.retired_at is not None:
        raise ScreenNotFound(
            ("Hãy mở trang từ màn hình đã đăng ký.", "Open it from a registered screen.")
        )
    html = render_template(
        "identity/signin.html",
        client=client,
        api=url_for("cross_device.start").removesuffix("/auth/cross-device"),
        qr=url_for("signin_page.page") + "/qr/",
    )
    return Response(html, mimetype="text/html")


@blp.route("/signin/qr/<request_id>.svg")
@public
def qr(request_id: str):
    """The QR of a request still waiting for a phone: the link the app opens."""
    pending = crossdevice.for_phone(request_id=request_id, now=utcnow())
    if pending.status is not CrossDeviceStatus.PENDING:
        raise crossdevice.RequestNotFound()
    import segno  # QR drawing loads with the first QR asked for, not with the app

    svg = io.BytesIO()
    segno.make(crossdevice.link_of(pending), error="m").save(svg, kind="svg", scale=6, border=2)
    return Response(svg.getvalue(), mimetype="image/svg+xml", headers={"Cache-Control": "no-store"})
