"""Passkeys on the wire: the WebAuthn JSON (Level 3 ``toJSON()``) the app relays, bounded.

The credential objects are checked for shape and size here, and for everything else by
py_webauthn in ``backend.identity.services.passkeys``; they reach it with the names the
platform gave them (``clientDataJSON``, ``rawId``, ...).
"""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from backend.identity.models import AccountKind
from backend.identity.schemas import DeviceSchema
from backend.parsing import Token
from backend.phones import PhoneField
from backend.web import Schema

B64URL = validate.Regexp(r"^[A-Za-z0-9_-]*$", error="base64url, without padding.")


def _b64url(max_length: int, **kwargs) -> ma.fields.String:
    return ma.fields.String(
        validate=[validate.Length(min=1, max=max_length), B64URL],
        metadata={"format": "base64url"},
        **kwargs,
    )


class _AsSent(Schema):
    """Loads to the names the platform used (``data_key``), as py_webauthn reads them."""

    @ma.post_load
    def _as_sent(self, data, **kwargs):
        return {self.fields[name].data_key or name: value for name, value in data.items()}


class _CredentialSchema(_AsSent):
    id = _b64url(1400, required=True)
    raw_id = _b64url(1400, required=True, data_key="rawId")
    type = ma.fields.String(required=True, validate=validate.Equal("public-key"))
    authenticator_attachment = ma.fields.String(
        data_key="authenticatorAttachment",
        allow_none=True,
        validate=validate.OneOf(["platform", "cross-platform"]),
    )
    client_extension_results = ma.fields.Dict(
        data_key="clientExtensionResults",
        metadata={"description": "Ignored", "additionalProperties": True},
    )


class _AttestationResponseSchema(_AsSent):
    client_data_json = _b64url(4096, required=True, data_key="clientDataJSON")
    attestation_object = _b64url(16384, required=True, data_key="attestationObject")
    transports = ma.fields.List(
        ma.fields.String(validate=validate.Length(max=20)), validate=validate.Length(max=8)
    )
    authenticator_data = _b64url(8192, data_key="authenticatorData")
    public_key = _b64url(2048, data_key="publicKey")
    public_key_algorithm = ma.fields.Integer(data_key="publicKeyAlgorithm")


class _AssertionResponseSchema(_AsSent):
    client_data_json = _b64url(4096, required=True, data_key="clientDataJSON")
    authenticator_data = _b64url(2048, required=True, data_key="authenticatorData")
    signature = _b64url(1024, required=True)
    user_handle = ma.fields.String(
        data_key="userHandle",
        allow_none=True,
        validate=[validate.Length(max=100), B64URL],
        metadata={"format": "base64url"},
    )


class RegistrationCredentialSchema(_CredentialSchema):
    response = ma.fields.Nested(_AttestationResponseSchema, required=True)


class AuthenticationCredentialSchema(_CredentialSchema):
    response = ma.fields.Nested(_AssertionResponseSchema, required=True)


class CeremonySchema(Schema):
    challenge_id = ma.fields.String(
        required=True, metadata={"description": "Send it back with the authenticator's answer"}
    )
    public_key = ma.fields.Dict(
        required=True,
        attribute="options",
        data_key="publicKey",
        metadata={
            "description": "The WebAuthn options (JSON form): give them to "
            "PublicKeyCredential.parseCreationOptionsFromJSON / parseRequestOptionsFromJSON, "
            "or to the platform's passkey API (Android Credential Manager, iOS "
            "ASAuthorization)",
            "additionalProperties": True,
        },
    )


class PasskeyRegisterSchema(Schema):
    challenge_id = Token(required=True, max_length=43)
    credential = ma.fields.Nested(RegistrationCredentialSchema, required=True)
    name = ma.fields.String(
        validate=validate.Length(min=1, max=100),
        metadata={"description": "How the person will recognise it; default: the device's name"},
    )


class PasskeyRenameSchema(Schema):
    name = ma.fields.String(required=True, validate=validate.Length(min=1, max=100))


class PasskeySchema(Schema):
    id = ma.fields.String(required=True)
    name = ma.fields.String(required=True)
    created_at = ma.fields.DateTime(required=True)
    last_used_at = ma.fields.DateTime(required=True, allow_none=True)
    synced = ma.fields.Boolean(
        required=True,
        attribute="backed_up",
        metadata={"description": "Kept in a cloud keychain (may be on several devices)"},
    )
    acr = ma.fields.Function(
        lambda p: str(p.acr),
        required=True,
        metadata={
            "type": "string",
            "enum": ["0", "1", "2"],
            "description": "The assurance level it signs in at: the level of the session "
            "that registered it",
        },
    )


class PasskeyListSchema(Schema):
    items = ma.fields.List(ma.fields.Nested(PasskeySchema), required=True)


class PasskeyOptionsRequestSchema(Schema):
    audience = ma.fields.Enum(AccountKind, by_value=True, load_default=AccountKind.CITIZEN)
    phone = PhoneField(
        metadata={
            "description": "Optional: list this number's passkeys (otherwise the "
            "authenticator offers the ones it holds)"
        }
    )


class PasskeySignInSchema(Schema):
    challenge_id = Token(required=True, max_length=43)
    credential = ma.fields.Nested(AuthenticationCredentialSchema, required=True)
    device = ma.fields.Nested(DeviceSchema, required=True)
