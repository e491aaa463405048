"""Secrets at rest: AES-GCM encryption with rotating keys, and keyed digests for look-ups.

Encrypted values carry the id of the key that sealed them, so keys can be rotated: the first key
in ``DATA_KEYS`` seals, every listed key opens. Each value is bound to a context (the row and
column it belongs to), so a ciphertext copied into another row does not open there.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import Flask, current_app


class CannotDecrypt(Exception):
    pass


def derive_key(secret: str, label: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=label.encode()).derive(
        secret.encode()
    )


def parse_data_keys(spec: str) -> dict[str, bytes]:
    """``"k2:<base64 32 bytes>,k1:<...>"`` -> ordered ``{kid: key}``; the first one seals."""
    keys: dict[str, bytes] = {}
    for item in filter(None, (part.strip() for part in spec.split(","))):
        kid, _, encoded = item.partition(":")
        key = base64.b64decode(encoded)
        if not kid or len(key) != 32:
            raise RuntimeError("DATA_KEYS entries are kid:base64(32 random bytes)")
        keys[kid] = key
    return keys


class Vault:
    def __init__(self, *, secret_key: str, data_keys: str | None):
        self.keys = (
            parse_data_keys(data_keys) if data_keys else {"k0": derive_key(secret_key, "data")}
        )
        self.sealing_kid = next(iter(self.keys))
        self._digest_keys: dict[str, bytes] = {}
        self._secret_key = secret_key

    def encrypt(self, plaintext: str, *, context: str) -> str:
        nonce = os.urandom(12)
        sealed = AESGCM(self.keys[self.sealing_kid]).encrypt(
            nonce, plaintext.encode(), context.encode()
        )
        return f"{self.sealing_kid}.{base64.urlsafe_b64encode(nonce + sealed).decode()}"

    def decrypt(self, token: str, *, context: str) -> str:
        kid, _, encoded = token.partition(".")
        key = self.keys.get(kid)
        if key is None:
            raise CannotDecrypt(f"unknown data key {kid!r}")
        raw = base64.urlsafe_b64decode(encoded)
        try:
            return AESGCM(key).decrypt(raw[:12], raw[12:], context.encode()).decode()
        except InvalidTag as error:
            raise CannotDecrypt("ciphertext does not open in this context") from error

    def digest(self, value: str, *, purpose: str) -> str:
        """A keyed digest for finding a secret value without storing it (HMAC-SHA256)."""
        key = self._digest_keys.get(purpose)
        if key is None:
            key = self._digest_keys[purpose] = derive_key(self._secret_key, f"digest:{purpose}")
        return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()


def vault() -> Vault:
    return current_app.extensions["vault"]


def init_app(app: Flask) -> None:
    app.extensions["vault"] = Vault(
        secret_key=app.config["SECRET_KEY"], data_keys=app.config.get("DATA_KEYS")
    )
