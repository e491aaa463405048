"""Identity providers on the wire: the login screen, the browser legs, the admin registry."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from backend.agencies.schemas import AGENCY_CODE, AgencyRefSchema
from backend.catalog.schemas import SLUG
from backend.identity.models import AccountKind
from backend.parsing import Token
from backend.providers.models import ClientAuthMethod
from backend.providers.services.idtoken import ASYMMETRIC_ALGORITHMS
from backend.providers.services.linking import PROFILE_FIELDS
from backend.web import Schema

# RFC 7636 section 4.2: BASE64URL(SHA256(verifier)) is 43 characters.
CODE_CHALLENGE = validate.Regexp(r"^[A-Za-z0-9_-]{43}$", error="A base64url S256 challenge.")
CODE_VERIFIER = validate.Regexp(r"^[A-Za-z0-9._~-]{43,128}$", error="An RFC 7636 code verifier.")
LEVEL = validate.Range(min=0, max=2)


class LoginProviderSchema(Schema):
    slug = ma.fields.String(required=True)
    name = ma.fields.String(required=True)
    name_en = ma.fields.String(allow_none=True)
    logo_url = ma.fields.String(allow_none=True)
    minimum_level = ma.fields.Integer(
        required=True, metadata={"description": "Assurance level a sign-in here gives at least"}
    )


class LoginProviderListSchema(Schema):
    items = ma.fields.List(ma.fields.Nested(LoginProviderSchema), required=True)
    dpop_signing_alg_values_supported = ma.fields.List(
        ma.fields.String(),
        required=True,
        metadata={
            "description": "The algorithms our token endpoints and API accept for DPoP proofs "
            "(RFC 9449 section 5.1, as in authorization server metadata)"
        },
    )


class AppPkceSchema(Schema):
    redirect_uri = ma.fields.String(
        required=True,
        validate=validate.Length(min=1, max=500),
        metadata={"description": "The app's registered redirect URI (RFC 8252)"},
    )
    code_challenge = ma.fields.String(required=True, validate=CODE_CHALLENGE)
    code_challenge_method = ma.fields.String(
        required=True, validate=validate.OneOf(["S256"]), metadata={"description": "S256 only"}
    )
    state = ma.fields.String(
        validate=validate.Length(min=1, max=500),
        metadata={"description": "The app's own state, returned to it unchanged"},
    )


class AuthorizeArgsSchema(AppPkceSchema):
    audience = ma.fields.Enum(
        AccountKind,
        by_value=True,
        load_default=AccountKind.CITIZEN,
        metadata={"description": "`staff` for officers whose staff record names this provider"},
    )


class CallbackArgsSchema(Schema):
    class Meta:
        unknown = ma.EXCLUDE  # providers add their own parameters (session_state, ...)

    state = Token(max_length=200)
    code = ma.fields.String(validate=validate.Length(max=2000))
    iss = ma.fields.String(validate=validate.Length(max=500))
    error = ma.fields.String(validate=validate.Length(max=200))
    error_description = ma.fields.String(validate=validate.Length(max=1000))


class LinkRequestSchema(AppPkceSchema):
    provider = ma.fields.String(required=True, validate=SLUG)


class LinkStartedSchema(Schema):
    authorize_url = ma.fields.String(
        required=True, metadata={"description": "Open it in the system browser"}
    )
    expires_in = ma.fields.Integer(required=True, metadata={"description": "seconds"})


class ProviderRefSchema(Schema):
    slug = ma.fields.String(required=True)
    name = ma.fields.String(required=True)


class IdentityLinkSchema(Schema):
    id = ma.fields.String(required=True)
    provider = ma.fields.Nested(ProviderRefSchema, required=True)
    created_at = ma.fields.DateTime(required=True)
    last_login_at = ma.fields.DateTime(allow_none=True)


class IdentityLinkListSchema(Schema):
    items = ma.fields.List(ma.fields.Nested(IdentityLinkSchema), required=True)


class ProviderWriteSchema(Schema):
    name = ma.fields.String(validate=validate.Length(min=1, max=200))
    name_en = ma.fields.String(allow_none=True, validate=validate.Length(max=200))
    logo_url = ma.fields.URL(allow_none=True, schemes={"https", "http"})
    issuer = ma.fields.String(validate=validate.Length(min=8, max=500))
    client_id = ma.fields.String(validate=validate.Length(min=1, max=255))
    client_auth_method = ma.fields.Enum(ClientAuthMethod, by_value=True)
    client_secret = ma.fields.String(
        load_only=True,
        validate=validate.Length(min=1, max=500),
        metadata={"description": "Stored encrypted, never shown again"},
    )
    scopes = ma.fields.List(
        ma.fields.String(validate=validate.Regexp(r"^[\x21\x23-\x5B\x5D-\x7E]{1,60}$")),
        validate=validate.Length(min=1, max=20),
    )
    signing_algorithms = ma.fields.List(
        ma.fields.String(validate=validate.OneOf(ASYMMETRIC_ALGORITHMS)),
        validate=validate.Length(min=1, max=len(ASYMMETRIC_ALGORITHMS)),
        metadata={"description": "ID token algorithms accepted; asymmetric only"},
    )
    claim_mapping = ma.fields.Dict(
        keys=ma.fields.String(validate=validate.OneOf(PROFILE_FIELDS)),
        values=ma.fields.String(validate=validate.Length(min=1, max=100)),
        metadata={"description": "Our profile field -> the provider's claim name"},
    )
    acr_levels = ma.fields.Dict(
        keys=ma.fields.String(validate=validate.Length(min=1, max=200)),
        values=ma.fields.Integer(strict=True, validate=LEVEL),
        validate=validate.Length(max=20),
        metadata={"description": "The provider's acr value -> our assurance level (0-2)"},
    )
    minimum_level = ma.fields.Integer(strict=True, validate=LEVEL)
    enabled = ma.fields.Boolean(
        metadata={"description": "Enable after a successful discovery check"}
    )


class ProviderCreateSchema(ProviderWriteSchema):
    slug = ma.fields.String(required=True, validate=SLUG)
    agency = ma.fields.String(required=True, validate=AGENCY_CODE)
    name = ma.fields.String(required=True, validate=validate.Length(min=1, max=200))
    issuer = ma.fields.String(required=True, validate=validate.Length(min=8, max=500))
    client_id = ma.fields.String(required=True, validate=validate.Length(min=1, max=255))
    client_auth_method = ma.fields.Enum(
        ClientAuthMethod, by_value=True, load_default=ClientAuthMethod.CLIENT_SECRET_BASIC
    )
    scopes = ma.fields.List(
        ma.fields.String(validate=validate.Regexp(r"^[\x21\x23-\x5B\x5D-\x7E]{1,60}$")),
        validate=validate.Length(min=1, max=20),
        load_default=lambda: ["openid", "profile"],
    )
    signing_algorithms = ma.fields.List(
        ma.fields.String(validate=validate.OneOf(ASYMMETRIC_ALGORITHMS)),
        validate=validate.Length(min=1, max=len(ASYMMETRIC_ALGORITHMS)),
        load_default=lambda: ["RS256", "ES256"],
    )
    minimum_level = ma.fields.Integer(strict=True, validate=LEVEL, load_default=0)
    enabled = ma.fields.Boolean(load_default=True)


class ProviderSchema(Schema):
    slug = ma.fields.String(required=True)
    name = ma.fields.String(required=True)
    name_en = ma.fields.String(allow_none=True)
    logo_url = ma.fields.String(allow_none=True)
    agency = ma.fields.Nested(AgencyRefSchema, required=True)
    issuer = ma.fields.String(required=True)
    client_id = ma.fields.String(required=True)
    client_auth_method = ma.fields.Enum(ClientAuthMethod, by_value=True, required=True)
    has_client_secret = ma.fields.Function(
        lambda p: p.client_secret_ciphertext is not None,
        required=True,
        metadata={"type": "boolean"},
    )
    scopes = ma.fields.List(ma.fields.String(), required=True)
    signing_algorithms = ma.fields.List(ma.fields.String(), required=True)
    claim_mapping = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.String())
    acr_levels = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Integer())
    minimum_level = ma.fields.Integer(required=True)
    enabled = ma.fields.Boolean(required=True)
    check_error = ma.fields.String(
        allow_none=True, metadata={"description": "Why the last discovery check failed"}
    )
    checked_at = ma.fields.DateTime(allow_none=True)
    created_at = ma.fields.DateTime(required=True)
    updated_at = ma.fields.DateTime(required=True)


class ProviderListSchema(Schema):
    items = ma.fields.List(ma.fields.Nested(ProviderSchema), required=True)


class StaffLinkCreateSchema(Schema):
    account_id = ma.fields.String(required=True, validate=validate.Length(min=1, max=26))
    subject = ma.fields.String(
        required=True,
        validate=validate.Length(min=1, max=255),
        metadata={"description": "The staff member's `sub` at this provider"},
    )


class StaffLinkSchema(Schema):
    id = ma.fields.String(required=True)
    account_id = ma.fields.String(required=True)
    subject = ma.fields.String(required=True)
    created_at = ma.fields.DateTime(required=True)
