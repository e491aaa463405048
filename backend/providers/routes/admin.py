"""The provider registry for agency administrators (permission ``providers.manage``)."""

from __future__ import annotations

from backend.apiheaders import LOCATION
from backend.db import utcnow
from backend.identity.access import require_principal, staff_required
from backend.identity.services.accounts import get_staff
from backend.providers import schemas
from backend.providers.services import linking, registry
from backend.web import Blueprint, created

blp = Blueprint("admin_providers", __name__, description="Identity provider administration")
MANAGE = "providers.manage"


def _visible() -> frozenset[str]:
    return require_principal().agencies_for(MANAGE)


@blp.route("")
@staff_required(MANAGE)
@blp.response(200, schemas.ProviderListSchema)
@blp.refusals(403)
def list_providers():
    """Identity providers of my agencies"""
    return {"items": registry.list_providers(visible_agencies=_visible())}


@blp.route("", methods=["POST"])
@staff_required(MANAGE)
@blp.arguments(schemas.ProviderCreateSchema)
@blp.response(201, schemas.ProviderSchema, headers=LOCATION)
@blp.refusals(403, 404, 409)
def create_provider(data):
    """Plug in a provider; enabled only if its discovery document checks out"""
    principal = require_principal()
    principal.agency(MANAGE, data["agency"])
    provider = registry.create_provider(
        data=data,
        client_secret=data.pop("client_secret", None),
        enable=data.pop("enabled"),
        by=principal.account_id,
        level_2_allowed=principal.holds_at_top(MANAGE),
        now=utcnow(),
    )
    return created(provider, "admin_providers.get_provider", slug=provider.slug)


@blp.route("/<slug>")
@staff_required(MANAGE)
@blp.etag
@blp.response(200, schemas.ProviderSchema)
@blp.refusals(403)
def get_provider(slug):
    """One provider (the client secret is never shown)"""
    return registry.get_provider(slug=slug, visible_agencies=_visible())


@blp.route("/<slug>", methods=["PATCH"])
@staff_required(MANAGE)
@blp.arguments(schemas.ProviderWriteSchema, required=False)
@blp.response(200, schemas.ProviderSchema)
@blp.refusals(403)
def update_provider(changes, slug):
    """Change a provider; saving with enabled=true checks discovery again"""
    principal = require_principal()
    provider = registry.get_provider(slug=slug, visible_agencies=_visible())
    return registry.update_provider(
        provider=provider,
        changes=changes,
        client_secret=changes.pop("client_secret", None),
        enable=changes.pop("enabled", None),
        by=principal.account_id,
        level_2_allowed=principal.holds_at_top(MANAGE),
        now=utcnow(),
    )


@blp.route("/<slug>/staff-links", methods=["POST"])
@staff_required(MANAGE)
@blp.arguments(schemas.StaffLinkCreateSchema)
@blp.response(201, schemas.StaffLinkSchema)
@blp.refusals(403, 409)
def link_staff(data, slug):
    """Name the identity a staff member signs in with at this provider"""
    visible = _visible()
    provider = registry.get_provider(slug=slug, visible_agencies=visible)
    staff = get_staff(account_id=data["account_id"], visible_agencies=visible)
    return linking.link_staff(
        provider=provider, account=staff, subject=data["subject"], visible_agencies=visible
    )
