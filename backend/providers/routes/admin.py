"""The provider registry for agency administrators (permission ``providers.manage``)."""

from __future__ import annotations

from backend.apiheaders import LOCATION
from backend.db import utcnow
from backend.identity.access import Forbidden, require_principal, staff_required
from backend.identity.services.accounts import get_staff
from backend.providers import schemas
from backend.providers.services import linking, registry
from backend.web import Blueprint, created

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


class TopAdministratorNeeded(Forbidden):
    code = "level-2-needs-a-top-administrator"

    def __init__(self):
        super().__init__(
            (
                "Chỉ quản trị cơ quan cấp cao nhất mới được công nhận mức định danh 2 cho một nhà "
                "cung cấp; hãy ánh xạ tối đa mức 1 hoặc đề nghị cấp trên.",
                "Only an administrator of a top-level agency may let a provider vouch for level "
                "2; map at most level 1, or ask them.",
            )
        )


def _visible() -> frozenset[str]:
    return require_principal().agencies_for(MANAGE)


def _check_levels(acr_levels: dict | None) -> None:
    """Level 2 opens every procedure that asks for an identity as sure as the national e-ID's,
    in every agency: a provider may vouch for it only on the word of an administrator at the
    top of the agency tree, not of one agency's own (the command line, run by the operators,
    is not limited)."""
    if not acr_levels or 2 not in acr_levels.values():
        return
    if not require_principal().holds_at_top(MANAGE):
        raise TopAdministratorNeeded()


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
@blp.response(201, schemas.ProviderSchema, headers=LOCATION)
@blp.alt_response(403, response="FORBIDDEN")
@blp.alt_response(404, response="NOT_FOUND")
@blp.alt_response(409, response="CONFLICT")
def create_provider(data):
    """Plug in a provider; enabled only if its discovery document checks out"""
    require_principal().agency(MANAGE, data["agency"])
    _check_levels(data.get("acr_levels"))
    provider = registry.create_provider(
        data=data,
        client_secret=data.pop("client_secret", None),
        enable=data.pop("enabled"),
        by=require_principal().account_id,
        now=utcnow(),
    )
    return created(provider, "admin_providers.get_provider", slug=provider.slug)


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
    _check_levels(changes.get("acr_levels"))
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
