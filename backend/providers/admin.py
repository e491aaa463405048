"""The provider registry for agency administrators (permission ``providers.manage``)."""

from __future__ import annotations

from backend.catalog.services import AgencyNotFound, get_agency
from backend.db import utcnow
from backend.identity.services.accounts import get_staff
from backend.providers import linking, registry, schemas
from backend.security import Forbidden, require_principal, staff_required
from backend.web import Blueprint

blp = Blueprint("admin_providers", __name__, description="Identity provider administration")
MANAGE = "providers.manage"


class StaffBeyondYourAgencies(Forbidden):
    code = "staff-beyond-your-agencies"

    def __init__(self):
        super().__init__(
            (
                "Cán bộ này còn giữ vai trò ở cơ quan bạn không quản lý; chỉ quản trị cấp trên "
                "của các cơ quan đó gắn được danh tính đăng nhập cho họ.",
                "This staff member also holds roles at agencies you do not manage; only an "
                "administrator above all of them can name their sign-in identity.",
            )
        )


def _visible() -> frozenset[str]:
    return require_principal().agencies_for(MANAGE)


@blp.route("")
@staff_required(MANAGE)
@blp.response(200, schemas.ProviderListSchema)
@blp.alt_response(403, response="FORBIDDEN")
def list_providers():
    """Identity providers of my agencies"""
    return {"items": registry.list_providers(visible_agencies=_visible())}


@blp.route("", methods=["POST"])
@staff_required(MANAGE)
@blp.arguments(schemas.ProviderCreateSchema)
@blp.response(201, schemas.ProviderSchema)
@blp.alt_response(403, response="FORBIDDEN")
@blp.alt_response(404, response="NOT_FOUND")
@blp.alt_response(409, response="CONFLICT")
def create_provider(data):
    """Plug in a provider; enabled only if its discovery document checks out"""
    agency = get_agency(code=data["agency"])
    if agency.id not in _visible():
        raise AgencyNotFound(("Không có cơ quan mã này.", "No agency has this code."))
    return registry.create_provider(
        data=data,
        client_secret=data.pop("client_secret", None),
        enable=data.pop("enabled"),
        by=require_principal().account_id,
        now=utcnow(),
    )


@blp.route("/<slug>")
@staff_required(MANAGE)
@blp.etag
@blp.response(200, schemas.ProviderSchema)
@blp.alt_response(403, response="FORBIDDEN")
def get_provider(slug):
    """One provider (the client secret is never shown)"""
    return registry.get_provider(slug=slug, visible_agencies=_visible())


@blp.route("/<slug>", methods=["PATCH"])
@staff_required(MANAGE)
@blp.arguments(schemas.ProviderWriteSchema, required=False)
@blp.response(200, schemas.ProviderSchema)
@blp.alt_response(403, response="FORBIDDEN")
def update_provider(changes, slug):
    """Change a provider; saving with enabled=true checks discovery again"""
    provider = registry.get_provider(slug=slug, visible_agencies=_visible())
    client_secret = changes.pop("client_secret", None)
    enable = changes.pop("enabled", None)
    return registry.update_provider(
        provider=provider,
        changes=changes,
        client_secret=client_secret,
        enable=enable,
        by=require_principal().account_id,
        now=utcnow(),
    )


@blp.route("/<slug>/staff-links", methods=["POST"])
@staff_required(MANAGE)
@blp.arguments(schemas.StaffLinkCreateSchema)
@blp.response(201, schemas.StaffLinkSchema)
@blp.alt_response(403, response="FORBIDDEN")
@blp.alt_response(409, response="CONFLICT")
def link_staff(data, slug):
    """Name the identity a staff member signs in with at this provider"""
    visible = _visible()
    provider = registry.get_provider(slug=slug, visible_agencies=visible)
    staff = get_staff(account_id=data["account_id"], visible_agencies=visible)
    # Whoever holds the identity signs in with every role the staff member holds anywhere.
    if any(grant.agency_id not in visible for grant in staff.grants):
        raise StaffBeyondYourAgencies()
    return linking.link_staff(provider=provider, account=staff, subject=data["subject"])
