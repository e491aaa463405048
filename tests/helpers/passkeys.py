"""A software authenticator that plays the phone's passkey store in the tests.

It keeps P-256 keys, answers registration with a "none" attestation and sign-in with an
assertion, and builds its CTAP structures (authenticator data, attested credential data,
attestation object, client data) with the ``fido2`` package; it can be told to misbehave
(wrong origin, no user verification, a count that goes back) for the bad-input tests.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from dataclasses import dataclass, field

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from fido2.cose import ES256
from fido2.webauthn import (
    Aaguid,
    AttestationObject,
    AttestedCredentialData,
    AuthenticatorData,
    CollectedClientData,
)

ORIGIN = "http://localhost:5000"
RP_ID = "localhost"
FLAG = AuthenticatorData.FLAG


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class Credential:
    id: bytes
    key: ec.EllipticCurvePrivateKey
    user_handle: bytes
    sign_count: int = 0


@dataclass
class SoftAuthenticator:
    origin: str = ORIGIN
    rp_id: str = RP_ID
    # Synced passkeys (Apple, Google) report a count of 0 forever and set BE/BS.
    synced: bool = False
    credentials: list[Credential] = field(default_factory=list)

    def _flags(self, *, verified: bool, attested: bool = False) -> FLAG:
        flags = FLAG.UP | (FLAG.UV if verified else 0)
        if self.synced:
            flags |= FLAG.BE | FLAG.BS
        return flags | (FLAG.AT if attested else 0)

    def _client_data(self, kind: str, asked: str, **overrides) -> CollectedClientData:
        return CollectedClientData.create(
            type=overrides.get("type", kind),
            challenge=overrides.get("challenge", asked),
            origin=overrides.get("origin", self.origin),
        )

    def create(self, options: dict, *, verified: bool = True, **overrides) -> dict:
        """What ``navigator.credentials.create`` gives the app, as WebAuthn JSON."""
        key = ec.generate_private_key(ec.SECP256R1())
        credential = Credential(
            id=secrets.token_bytes(32), key=key, user_handle=unb64(options["user"]["id"])
        )
        client_data = self._client_data("webauthn.create", options["challenge"], **overrides)
        rp_id = overrides.get("rp_id", options["rp"]["id"])
        auth_data = AuthenticatorData.create(
            hashlib.sha256(rp_id.encode()).digest(),
            self._flags(verified=verified, attested=True),
            0,
            AttestedCredentialData.create(
                Aaguid.NONE, credential.id, ES256.from_cryptography_key(key.public_key())
            ),
        )
        attestation = AttestationObject.create("none", auth_data, {})
        self.credentials.append(credential)
        return _as_json(
            credential,
            clientDataJSON=b64(client_data),
            attestationObject=b64(attestation),
            transports=["internal", "hybrid"],
        )

    def get(
        self,
        options: dict,
        *,
        credential: Credential | None = None,
        verified: bool = True,
        count: int | None = None,
        sign_other_data: bool = False,
        **overrides,
    ) -> dict:
        """What ``navigator.credentials.get`` gives: by default the first allowed credential."""
        if credential is None:
            allowed = {unb64(c["id"]) for c in options.get("allowCredentials", [])}
            usable = [c for c in self.credentials if not allowed or c.id in allowed]
            credential = usable[0]
        if count is None and not self.synced:
            credential.sign_count += 1
        sign_count = 0 if self.synced and count is None else (count or credential.sign_count)
        client_data = self._client_data("webauthn.get", options["challenge"], **overrides)
        rp_id = overrides.get("rp_id", options["rpId"])
        auth_data = AuthenticatorData.create(
            hashlib.sha256(rp_id.encode()).digest(), self._flags(verified=verified), sign_count
        )
        signed = bytes(auth_data) + client_data.hash
        if sign_other_data:
            signed += b"other"
        signature = credential.key.sign(signed, ec.ECDSA(hashes.SHA256()))
        return _as_json(
            credential,
            clientDataJSON=b64(client_data),
            authenticatorData=b64(auth_data),
            signature=b64(signature),
            userHandle=b64(credential.user_handle),
        )


def _as_json(credential: Credential, **response: object) -> dict:
    """The WebAuthn JSON a platform gives the app (``PublicKeyCredential.toJSON()``)."""
    return {
        "id": b64(credential.id),
        "rawId": b64(credential.id),
        "type": "public-key",
        "authenticatorAttachment": "platform",
        "clientExtensionResults": {},
        "response": response,
    }


def client_data_of(credential: dict) -> dict:
    return json.loads(unb64(credential["response"]["clientDataJSON"]))
