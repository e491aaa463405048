"""What sign-in, profile and staff administration look like on the wire."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from backend.agencies.schemas import AGENCY_CODE, AgencyRefSchema
from backend.apidoc import Derived
from backend.identity.access import require_principal
from backend.identity.models import (
    AccountKind,
    AccountStatus,
    CrossDeviceStatus,
    SigninClientKind,
)
from backend.identity.roles import ROLES
from backend.identity.services.accounts import masked_national_id
from backend.parsing import Token
from backend.phones import PhoneField
from backend.web import Schema

SIX_DIGITS = validate.Regexp(r"^\d{6}$", error="Six digits.")


class AddressSchema(Schema):
    """A postal address: on a citizen's profile, and in forms that ask for one."""

    line = ma.fields.String(required=True, validate=validate.Length(min=1, max=200))
    ward = ma.fields.String(validate=validate.Length(max=100))
    district = ma.fields.String(validate=validate.Length(max=100))
    province = ma.fields.String(validate=validate.Length(max=100))


class OtpRequestSchema(Schema):
    phone = PhoneField(required=True, metadata={"example": "0912345678"})
    audience = ma.fields.Enum(
        AccountKind,
        by_value=True,
        load_default=AccountKind.CITIZEN,
        metadata={"description": "`staff` for officers (an authenticator code is also needed)"},
    )


class OtpChallengeSchema(Schema):
    challenge_id = ma.fields.String(required=True)
    expires_in = ma.fields.Integer(required=True, metadata={"description": "seconds"})
    resend_after = ma.fields.Integer(required=True, metadata={"description": "seconds"})


class DeviceSchema(Schema):
    id = ma.fields.String(
        validate=validate.Length(min=8, max=64),
        metadata={"description": "The app installation's own id, for per-device limits"},
    )
    name = ma.fields.String(required=True, validate=validate.Length(min=1, max=100))
    platform = ma.fields.String(
        required=True, validate=validate.OneOf(["android", "ios", "web", "other"])
    )
    app_version = ma.fields.String(validate=validate.Length(max=40))


class OtpVerifySchema(Schema):
    challenge_id = Token(required=True, max_length=40)
    code = ma.fields.String(required=True, validate=SIX_DIGITS)
    device = ma.fields.Nested(DeviceSchema, required=True)
    totp_code = ma.fields.String(validate=SIX_DIGITS, metadata={"description": "Staff"})
    recovery_code = ma.fields.String(
        validate=validate.Length(min=10, max=20), metadata={"description": "Staff, instead"}
    )


class TokenSchema(Schema):
    access_token = ma.fields.String(required=True)
    token_type = ma.fields.Function(
        lambda pair: "DPoP" if pair.dpop_jkt else "Bearer",
        required=True,
        metadata={
            "type": "string",
            "enum": ["Bearer", "DPoP"],
            "description": "DPoP: bound to the key of the request's DPoP proof (RFC 9449); "
            "send it as `Authorization: DPoP` with a proof on every call",
        },
    )
    expires_in = ma.fields.Integer(required=True)
    refresh_token = ma.fields.String(required=True)
    refresh_expires_in = ma.fields.Integer(required=True)
    session_id = ma.fields.Function(
        lambda pair: pair.session_id, required=True, metadata={"type": "string"}
    )
    acr = ma.fields.Function(
        lambda pair: str(pair.acr),
        required=True,
        metadata={"type": "string", "description": "Assurance level of the session: 0, 1 or 2"},
    )
    mfa_enrollment_required = ma.fields.Boolean(
        dump_default=False,
        metadata={"description": "Staff must set up an authenticator before anything else"},
    )


class TokenRequestSchema(Schema):
    grant_type = ma.fields.String(
        required=True, validate=validate.OneOf(["refresh_token", "authorization_code"])
    )
    refresh_token = Token(
        max_length=200,
        validate=validate.Length(min=20),
        metadata={"description": "refresh_token grant"},
    )
    code = Token(
        max_length=200,
        validate=validate.Length(min=20),
        metadata={"description": "authorization_code grant: the one-time code from the callback"},
    )
    code_verifier = ma.fields.String(
        validate=validate.Regexp(r"^[A-Za-z0-9._~-]{43,128}$", error="An RFC 7636 verifier."),
        metadata={"description": "authorization_code grant: the app's PKCE verifier"},
    )
    redirect_uri = ma.fields.String(
        validate=validate.Length(min=1, max=500),
        metadata={"description": "authorization_code grant: as sent to /authorize"},
    )
    device = ma.fields.Nested(
        DeviceSchema, metadata={"description": "authorization_code grant (JSON bodies only)"}
    )

    _REQUIRED = {
        "refresh_token": ("refresh_token",),
        "authorization_code": ("code", "code_verifier", "redirect_uri"),
    }

    @ma.validates_schema
    def _fields_of_the_grant(self, data, **kwargs):
        missing = [f for f in self._REQUIRED[data["grant_type"]] if f not in data]
        if missing:
            raise ma.ValidationError({f: ["Missing data for required field."] for f in missing})


class CodeSchema(Schema):
    code = ma.fields.String(required=True, validate=SIX_DIGITS)


ENROLMENT_CODE = {
    "description": "Staff: the enrolment code their administrator handed them (xxxxx-xxxxx)",
    "example": "k7m2q-x9hpt",
}


class TotpBeginSchema(Schema):
    enrolment_code = ma.fields.String(
        validate=validate.Regexp(
            r"^[A-Za-z0-9]{5}[- ]?[A-Za-z0-9]{5}$", error="Ten letters or digits (xxxxx-xxxxx)."
        ),
        metadata=ENROLMENT_CODE,
    )


class EnrolmentCodeSchema(Schema):
    enrolment_code = ma.fields.String(
        required=True,
        attribute="code",
        metadata={"description": "Shown only here, once: hand it to the staff member in person"},
    )
    expires_at = ma.fields.DateTime(required=True)


class TotpEnrolmentSchema(Schema):
    secret = ma.fields.String(required=True, metadata={"description": "For manual entry"})
    otpauth_uri = ma.fields.String(required=True, attribute="uri")
    qr_svg = ma.fields.String(required=True, metadata={"description": "data: URI of an SVG"})


class TotpConfirmedSchema(Schema):
    recovery_codes = ma.fields.List(ma.fields.String(), required=True)
    tokens = ma.fields.Nested(TokenSchema, required=True)


class RecoveryCodesSchema(Schema):
    recovery_codes = ma.fields.List(ma.fields.String(), required=True)


class GrantSchema(Schema):
    id = ma.fields.String(required=True)
    role = ma.fields.String(required=True)
    agency = ma.fields.Nested(AgencyRefSchema, required=True)


class ProfileSchema(Schema):
    id = ma.fields.String(required=True)
    kind = ma.fields.Enum(AccountKind, by_value=True, required=True)
    phone = ma.fields.String(allow_none=True)
    full_name = ma.fields.String(allow_none=True)
    email = ma.fields.String(allow_none=True)
    preferred_language = ma.fields.String(required=True)
    address = ma.fields.Nested(AddressSchema, allow_none=True)
    identity_verified = ma.fields.Boolean(required=True)
    assurance_level = ma.fields.Integer(required=True)
    national_id = ma.fields.Function(
        masked_national_id,
        allow_none=True,
        metadata={"type": "string", "description": "Masked: only the last digits"},
    )
    date_of_birth = ma.fields.Date(allow_none=True)
    roles = Derived(
        ma.fields.Nested(GrantSchema),
        lambda account: account.grants if account.kind is AccountKind.STAFF else [],
    )


class ProfilePatchSchema(Schema):
    full_name = ma.fields.String(validate=validate.Length(min=1, max=200))
    email = ma.fields.Email(allow_none=True, validate=validate.Length(max=254))
    preferred_language = ma.fields.String(validate=validate.OneOf(["vi", "en"]))
    address = ma.fields.Nested(AddressSchema, allow_none=True)


class SessionRefSchema(Schema):
    id = ma.fields.String(required=True)
    device_name = ma.fields.String(allow_none=True)
    platform = ma.fields.String(allow_none=True)


class SessionSchema(SessionRefSchema):
    app_version = ma.fields.String(allow_none=True)
    created_at = ma.fields.DateTime(required=True)
    last_seen_at = ma.fields.DateTime(required=True)
    acr = ma.fields.Function(lambda s: str(s.acr), required=True, metadata={"type": "string"})
    current = ma.fields.Function(
        lambda s: s.id == require_principal().session_id,
        required=True,
        metadata={"type": "boolean", "description": "This is the session making the request"},
    )
    approved_by = ma.fields.Nested(
        SessionRefSchema,
        allow_none=True,
        metadata={"description": "A screen signed in from a phone: the phone's session"},
    )


class SessionListSchema(Schema):
    items = ma.fields.List(ma.fields.Nested(SessionSchema), required=True)


class JwksSchema(Schema):
    keys = ma.fields.List(
        ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.String()),
        required=True,
        metadata={"description": "Public JWKs (RFC 7517): kty, crv, x, y, kid, use, alg"},
    )


class StaffCreateSchema(Schema):
    phone = PhoneField(required=True)
    full_name = ma.fields.String(required=True, validate=validate.Length(min=1, max=200))
    agency = ma.fields.String(required=True, validate=AGENCY_CODE)
    role = ma.fields.String(required=True, validate=validate.OneOf(sorted(ROLES)))


class GrantCreateSchema(Schema):
    agency = ma.fields.String(required=True, validate=AGENCY_CODE)
    role = ma.fields.String(required=True, validate=validate.OneOf(sorted(ROLES)))


class StaffSchema(Schema):
    id = ma.fields.String(required=True)
    phone = ma.fields.String(allow_none=True)
    full_name = ma.fields.String(allow_none=True)
    status = ma.fields.Enum(AccountStatus, by_value=True, required=True)
    grants = ma.fields.List(ma.fields.Nested(GrantSchema), required=True)


class NewStaffSchema(StaffSchema):
    """The new account, with the enrolment code it needs to set up its authenticator."""

    enrolment_code = ma.fields.String(
        required=True,
        metadata={"description": "Shown only here, once: hand it to the staff member in person"},
    )
    enrolment_code_expires_at = ma.fields.DateTime(required=True)

    def get_attribute(self, obj, attr, default):
        if attr == "enrolment_code":
            return obj.enrolment.code
        if attr == "enrolment_code_expires_at":
            return obj.enrolment.expires_at
        return super().get_attribute(obj.account, attr, default)


class StaffListSchema(Schema):
    items = ma.fields.List(ma.fields.Nested(StaffSchema), required=True)


# --- cross-device sign-in: a screen shows a QR, the phone approves ----------------------

PKCE_VERIFIER = validate.Regexp(r"^[A-Za-z0-9._~-]{43,128}$", error="An RFC 7636 verifier.")


class CrossDeviceStartSchema(Schema):
    client_id = Token(required=True, max_length=26, metadata={"description": "The screen's id"})
    code_challenge = ma.fields.String(
        required=True,
        validate=validate.Regexp(r"^[A-Za-z0-9_-]{43}$", error="BASE64URL(SHA-256(verifier))."),
        metadata={"description": "PKCE (RFC 7636), S256: the screen keeps the verifier"},
    )
    code_challenge_method = ma.fields.String(load_default="S256", validate=validate.OneOf(["S256"]))
    acr = ma.fields.Integer(
        load_default=0,
        validate=validate.Range(min=0, max=2),
        metadata={"description": "The assurance level the screen needs"},
    )


class CrossDeviceStartedSchema(Schema):
    request_id = ma.fields.String(required=True, attribute="request.id")
    link = ma.fields.String(
        required=True,
        metadata={"description": "What the QR holds: the app opens it (no secret in it)"},
    )
    display_code = ma.fields.String(
        required=True,
        attribute="request.display_code",
        metadata={"description": "Show it beside the QR: the citizen picks it on the phone"},
    )
    expires_in = ma.fields.Integer(required=True, metadata={"description": "seconds"})
    interval = ma.fields.Integer(
        required=True, attribute="request.interval", metadata={"description": "Poll every ... s"}
    )


class CrossDeviceRedeemSchema(Schema):
    code_verifier = ma.fields.String(required=True, validate=PKCE_VERIFIER)


class SigninClientRefSchema(Schema):
    id = ma.fields.String(required=True)
    kind = ma.fields.Enum(SigninClientKind, by_value=True, required=True)
    name = ma.fields.String(required=True)
    name_en = ma.fields.String(allow_none=True)
    place = ma.fields.String(allow_none=True)


class CrossDeviceRequestSchema(Schema):
    """A request as the phone shows it before the citizen approves."""

    request_id = ma.fields.String(required=True, attribute="id")
    status = ma.fields.Enum(CrossDeviceStatus, by_value=True, required=True)
    client = ma.fields.Nested(SigninClientRefSchema, required=True)
    agency = ma.fields.Nested(AgencyRefSchema, required=True, attribute="client.agency")
    requested_acr = ma.fields.Integer(required=True)
    created_at = ma.fields.DateTime(required=True)
    expires_at = ma.fields.DateTime(required=True)
    choices = ma.fields.List(
        ma.fields.String(),
        required=True,
        metadata={"description": "Three codes: the citizen picks the one the screen shows"},
    )


class CrossDeviceApproveSchema(Schema):
    code = ma.fields.String(
        required=True, validate=validate.Regexp(r"^\d{2}$", error="Two digits.")
    )


class SigninClientCreateSchema(Schema):
    agency = ma.fields.String(required=True, validate=AGENCY_CODE)
    kind = ma.fields.Enum(SigninClientKind, by_value=True, required=True)
    name = ma.fields.String(required=True, validate=validate.Length(min=1, max=120))
    name_en = ma.fields.String(validate=validate.Length(min=1, max=120))
    place = ma.fields.String(
        validate=validate.Length(min=1, max=200),
        metadata={"description": "Where the screen stands, shown on the phone"},
    )


class SigninClientSchema(SigninClientRefSchema):
    agency = ma.fields.Nested(AgencyRefSchema, required=True)
    created_at = ma.fields.DateTime(required=True)


class SigninClientListSchema(Schema):
    items = ma.fields.List(ma.fields.Nested(SigninClientSchema), required=True)
