"""The headers of the contract: every header an operation reads or sends, declared once.

Client generators only send the request headers an operation declares and only expose the
response headers it declares, so a header known from prose alone does not exist for the app.
What is declared here and put on each operation by ``backend.apidoc.HeadersPlugin``:

- every operation reads ``Accept-Language`` and ``X-Request-ID``; every answer carries
  ``X-Request-ID``;
- a problem answer carries ``Content-Language``, a 401 its ``WWW-Authenticate`` challenge, a
  429 or 503 ``Retry-After``, a 415 ``Accept-Post`` (``ProblemApi`` puts them on the shared
  responses);
- an operation that honours ``Idempotency-Key`` (``backend.idempotency`` marks it) declares
  the key, the ``Idempotent-Replayed`` of an answer given again, and the 409 with
  ``Retry-After`` of a retry that overtook the first request;
- ``ETag``, ``If-Match`` and ``If-None-Match`` come from flask-smorest's ``etag``; routes that
  create something with a URL of its own declare ``Location`` on their 201.
"""

from __future__ import annotations

from typing import Any

# A 201 that names what it created (``backend.web.created``).
LOCATION = {"Location": "LOCATION"}
# Marks an operation whose view honours Idempotency-Key: "required" or "optional".
IDEMPOTENCY_MARK = "x-idempotency-key"
# Marks an operation that issues tokens and binds them to the key of a DPoP proof (RFC 9449).
DPOP_TOKEN_ENDPOINT_MARK = "x-dpop-token-endpoint"  # noqa: S105 (a name, not a secret)

_SECONDS = {"type": "integer", "minimum": 0}

HEADERS: dict[str, dict[str, Any]] = {
    "X_REQUEST_ID": {
        "description": "The id of this request: the one you sent, when sane, else ours; "
        "the log line of the request and a problem's `request_id` carry it too",
        "required": True,
        "schema": {"type": "string"},
    },
    "ETAG": {
        "description": "The version of what was returned: send it as If-None-Match to read "
        "it again (304 when unchanged) or as If-Match to change it",
        "required": True,
        "schema": {"type": "string"},
    },
    "LOCATION": {
        "description": "The URL of what was created (201), or where to go (302)",
        "required": True,
        "schema": {"type": "string", "format": "uri-reference"},
    },
    "CONTENT_LANGUAGE": {
        "description": "The language of the problem's texts, chosen by Accept-Language",
        "required": True,
        "schema": {"type": "string", "enum": ["vi", "en"]},
    },
    "WWW_AUTHENTICATE": {
        "description": 'The challenge (RFC 6750): `error="invalid_token"` for a token to '
        'renew, `error="insufficient_user_authentication"` with `acr_values` for a stronger '
        'sign-in (RFC 9470); with a DPoP-bound token `DPoP error="invalid_dpop_proof", '
        'algs="..."` or `DPoP error="use_dpop_nonce"` (RFC 9449)',
        "required": True,
        "schema": {"type": "string"},
    },
    "RETRY_AFTER": {
        "description": "Seconds to wait before trying again",
        "required": True,
        "schema": _SECONDS,
    },
    "RETRY_AFTER_IF_RUNNING": {
        "description": "Seconds to wait, when the first request with this Idempotency-Key "
        "is still running",
        "schema": _SECONDS,
    },
    "IDEMPOTENT_REPLAYED": {
        "description": "`true` when this is the stored answer to an earlier request with the "
        "same Idempotency-Key; nothing was done again",
        "schema": {"type": "string", "enum": ["true"]},
    },
    "DPOP_NONCE": {
        "description": "A nonce to put in the next DPoP proofs (RFC 9449 section 8), sent "
        "with the `use_dpop_nonce` error when the server requires one",
        "schema": {"type": "string"},
    },
    "ACCEPT_POST": {
        "description": "The media types this operation takes (RFC 9110 15.5.16)",
        "schema": {"type": "string"},
    },
    "CONTENT_DISPOSITION": {
        "description": "The file's name (RFC 6266), and whether to save or show it",
        "required": True,
        "schema": {"type": "string"},
    },
    "X_CONTENT_TYPE_OPTIONS": {
        "description": "`nosniff`: a browser must not guess another type",
        "required": True,
        "schema": {"type": "string", "enum": ["nosniff"]},
    },
    "CONTENT_SECURITY_POLICY": {
        "description": "Opened in a browser, the file may draw but never run anything",
        "required": True,
        "schema": {"type": "string"},
    },
}

_IDEMPOTENCY_KEY = {
    "in": "header",
    "name": "Idempotency-Key",
    "description": "Your id for this attempt, the same on every retry of it (a UUID will "
    "do): a retry gets the first answer again instead of doing the work twice; the same key "
    "with another request is refused (422). Kept for 24 hours at least",
    "schema": {"type": "string", "pattern": r"^[A-Za-z0-9._:-]{8,100}$"},
}

PARAMETERS: dict[str, dict[str, Any]] = {
    "ACCEPT_LANGUAGE": {
        "in": "header",
        "name": "Accept-Language",
        "description": "vi (the default) or en: the language of problem details, labels and "
        "notification texts",
        "schema": {"type": "string", "example": "en"},
    },
    "X_REQUEST_ID": {
        "in": "header",
        "name": "X-Request-ID",
        "description": "Your id for this request (8-64 letters, digits, '.', '_', ':' or "
        "'-'), sent back and logged; another value is replaced by one of ours",
        "schema": {"type": "string"},
    },
    "IF_NONE_MATCH": {
        "in": "header",
        "name": "If-None-Match",
        "description": "The ETag you hold: 304, with no body, while it is still current",
        "schema": {"type": "string"},
    },
    "IF_MATCH": {
        "in": "header",
        "name": "If-Match",
        "required": True,
        "description": "The ETag you hold: the change is refused (412) when someone changed "
        "the resource since",
        "schema": {"type": "string"},
    },
    "DPOP": {
        "in": "header",
        "name": "DPoP",
        "description": "A DPoP proof (RFC 9449): a JWS of type dpop+jwt signed by the device's "
        "key, with the public key in its header (jwk) and htm, htu, iat, a fresh jti (and "
        "ath, the token's SHA-256, with an access token). Required with a DPoP-bound token; at "
        "a token endpoint it binds the tokens issued to that key",
        "schema": {"type": "string", "maxLength": 6000},
    },
    "IDEMPOTENCY_KEY": {**_IDEMPOTENCY_KEY, "required": False},
    "IDEMPOTENCY_KEY_REQUIRED": {**_IDEMPOTENCY_KEY, "required": True},
}


def problem_headers(status: int) -> dict[str, str]:
    """The headers of a shared answer with this status (component names)."""
    headers = {"X-Request-ID": "X_REQUEST_ID"}
    if status == 304:
        headers["ETag"] = "ETAG"
    if status >= 400:
        headers["Content-Language"] = "CONTENT_LANGUAGE"
    if status == 401:
        headers["WWW-Authenticate"] = "WWW_AUTHENTICATE"
        headers["DPoP-Nonce"] = "DPOP_NONCE"
    if status in (429, 503):
        headers["Retry-After"] = "RETRY_AFTER"
    if status == 415:
        headers["Accept-Post"] = "ACCEPT_POST"
    return headers


def register_components(spec) -> None:
    for name, header in HEADERS.items():
        spec.components.header(name, header, lazy=True)
    for name, parameter in PARAMETERS.items():
        spec.components.parameter(name, parameter["in"], parameter, lazy=True)
