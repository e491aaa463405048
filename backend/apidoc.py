"""How the API documents itself: problem+json errors, the statuses and headers of every operation.

The generated ``openapi.yaml`` must list every status an operation can answer, so the answers
that come from shared machinery (malformed JSON, wrong content type, unknown id) are added here
once instead of on each route; so are the headers every operation reads and sends
(``backend.apiheaders``).
"""

from __future__ import annotations

import http

import marshmallow as ma
from apispec import BasePlugin
from flask_smorest import Api
from flask_smorest.utils import prepare_response

from backend.apiheaders import (
    DPOP_TOKEN_ENDPOINT_MARK,
    IDEMPOTENCY_MARK,
    problem_headers,
    register_components,
)
from backend.errors import PROBLEM_CONTENT_TYPE, problem_from_http_exception
from backend.operations import OPERATION_IDS
from backend.web import Schema


class ProblemSchema(Schema):
    """RFC 9457 problem details."""

    class Meta:
        unknown = ma.INCLUDE  # problem types may add members

    type = ma.fields.String(required=True, metadata={"description": "URI of the problem type"})
    title = ma.fields.String(required=True)
    status = ma.fields.Integer(required=True)
    detail = ma.fields.String()
    instance = ma.fields.String()
    request_id = ma.fields.String()
    errors = ma.fields.Dict(
        keys=ma.fields.String(),
        values=ma.fields.List(ma.fields.String()),
        metadata={"description": "Per-field messages when the request failed validation"},
    )


class Derived(ma.fields.List):
    """A list computed from the object (``getter(obj)``), documented as the list it is.

    A ``Method`` field gives the document no type; this one is an array of ``inner``.
    """

    def __init__(self, inner, getter, **kwargs):
        super().__init__(inner, **kwargs)
        self.getter = getter

    def get_value(self, obj, attr, accessor=None, default=ma.missing):
        return self.getter(obj)


def form_data(**metadata) -> dict:
    """A ``Dict`` field's metadata for a form's data: field name -> what the citizen entered.

    A value is what a procedure's form takes (``backend.catalog.forms``): text, a number or an
    address. ``nullable=True`` when null removes one. A new dict on each call, so that the YAML
    document has no anchors.
    """
    values = [{"type": "string"}, {"type": "number"}, {"$ref": "#/components/schemas/Address"}]
    if metadata.pop("nullable", False):
        values.append({"type": "null"})
    return {**metadata, "additionalProperties": {"oneOf": values}}


class ProblemApi(Api):
    ERROR_SCHEMA = ProblemSchema
    # No catch-all "default" response: each operation lists the statuses it can return.
    DEFAULT_ERROR_RESPONSE_NAME = None

    def handle_http_exception(self, error):
        return problem_from_http_exception(error)

    def _register_responses(self):
        register_components(self.spec)
        for status in http.HTTPStatus:
            response = {"description": status.phrase, "headers": problem_headers(status)}
            if not (100 <= status < 200) and status not in (204, 304):
                response["schema"] = self.ERROR_SCHEMA
            prepare_response(response, self.spec, PROBLEM_CONTENT_TYPE)
            self.spec.components.response(status.name, response, lazy=True)

    def _register_etag_headers(self):
        """ETag, If-Match and If-None-Match are in ``backend.apiheaders`` with the others."""


def enum_choices(self, field, ret=None, **kwargs) -> dict:
    """An Enum field narrowed by a ``OneOf`` lists only the values it accepts.

    apispec documents every member of the Python enum; a client generator would then offer
    values the server refuses (a counter dossier's channel cannot be "online").
    """
    if not isinstance(field, ma.fields.Enum) or not (ret or {}).get("enum"):
        return {}
    typed = {}
    if "type" not in ret:
        kinds = {
            "string" if isinstance(v, str) else "integer" for v in ret["enum"] if v is not None
        }
        kind = kinds.pop() if len(kinds) == 1 else "string"
        typed["type"] = [kind, "null"] if None in ret["enum"] else kind
    allowed = set(ret["enum"])
    for validator in field.validators:
        if isinstance(validator, ma.validate.OneOf):
            choices = {
                getattr(c, "value", c) if field.by_value else getattr(c, "name", c)
                for c in validator.choices
            }
            allowed &= choices
    if allowed == set(ret["enum"]):
        return typed
    return {**typed, "enum": [value for value in ret["enum"] if value in allowed]}


class OperationIdsPlugin(BasePlugin):
    """Names each operation from ``backend.operations`` (tests/test_contract.py fails on an
    operation left without one)."""

    def operation_helper(self, path=None, operations=None, **kwargs):
        for method, operation in (operations or {}).items():
            name = OPERATION_IDS.get(f"{method.upper()} {path}")
            if name is not None:
                operation["operationId"] = name


class ProblemResponsesPlugin(BasePlugin):
    """Adds the error statuses that shared request handling can produce to each operation."""

    def operation_helper(self, path=None, operations=None, **kwargs):
        for operation in (operations or {}).values():
            statuses = []
            if "requestBody" in operation:
                statuses += [400, 413, 415]
            if path and "{" in path:
                statuses.append(404)
            # Operations need a bearer token unless they declare no security requirement.
            if operation.get("security") != []:
                statuses.append(401)
            responses = operation.setdefault("responses", {})
            for status in statuses:
                if status not in responses and str(status) not in responses:
                    responses[str(status)] = http.HTTPStatus(status).name


def _ref(method: str, path: str) -> str:
    """A JSON pointer to an operation of this document (RFC 6901 escaping)."""
    return "#/paths/" + path.replace("~", "~0").replace("/", "~1") + "/" + method


_DOSSIER = "/api/v1/dossiers/{dossier_id}"
_FEEDBACK = "/api/v1/feedback/{feedback_id}"
_AGENCY_DOSSIER = "/api/v1/agency/dossiers/{dossier_id}"
_BY_DOSSIER_ID = {"dossier_id": "$response.body#/id"}
_SAME_DOSSIER = {"dossier_id": "$request.path.dossier_id"}
_BY_FEEDBACK_ID = {"feedback_id": "$response.body#/id"}

# What a client can do next with what an operation just created or returned (OpenAPI links):
# how the app walks from a new draft to its attachments and submission, an officer from a
# received dossier to its result, a petitioner from a petition to its supplement.
# (method, path, status) -> {link name: (method, path, parameters)}
LINKS: dict[tuple[str, str, str], dict[str, tuple[str, str, dict[str, str]]]] = {
    ("post", "/api/v1/dossiers", "201"): {
        "GetDossier": ("get", _DOSSIER, _BY_DOSSIER_ID),
        "PatchDossier": ("patch", _DOSSIER, _BY_DOSSIER_ID),
        "DeleteDossier": ("delete", _DOSSIER, _BY_DOSSIER_ID),
        "Attach": ("post", _DOSSIER + "/attachments/{slot}", _BY_DOSSIER_ID),
        "Detach": ("delete", _DOSSIER + "/attachments/{slot}", _BY_DOSSIER_ID),
        "Submit": ("post", _DOSSIER + "/submit", _BY_DOSSIER_ID),
        "Withdraw": ("post", _DOSSIER + "/withdraw", _BY_DOSSIER_ID),
        "Events": ("get", _DOSSIER + "/events", _BY_DOSSIER_ID),
    },
    ("post", _DOSSIER + "/submit", "200"): {
        "GetDossier": ("get", _DOSSIER, _SAME_DOSSIER),
        "Withdraw": ("post", _DOSSIER + "/withdraw", _SAME_DOSSIER),
        "Events": ("get", _DOSSIER + "/events", _SAME_DOSSIER),
        "Track": ("get", "/api/v1/tracking/{code}", {"code": "$response.body#/code"}),
        "Accept": ("post", _AGENCY_DOSSIER + "/accept", _SAME_DOSSIER),
        "Refuse": ("post", _AGENCY_DOSSIER + "/refuse", _SAME_DOSSIER),
    },
    # The one-stop workflow, officer side, and the citizen's answers to it.
    ("post", _AGENCY_DOSSIER + "/accept", "200"): {
        "Start": ("post", _AGENCY_DOSSIER + "/start", _SAME_DOSSIER),
        "Stop": ("post", _AGENCY_DOSSIER + "/stop", _SAME_DOSSIER),
    },
    ("post", _AGENCY_DOSSIER + "/start", "200"): {
        "RequestSupplement": ("post", _AGENCY_DOSSIER + "/request-supplement", _SAME_DOSSIER),
        "RequestFees": ("post", _AGENCY_DOSSIER + "/request-fees", _SAME_DOSSIER),
        "UploadResult": ("post", _AGENCY_DOSSIER + "/result", _SAME_DOSSIER),
        "Decide": ("post", _AGENCY_DOSSIER + "/decide", _SAME_DOSSIER),
    },
    ("post", _AGENCY_DOSSIER + "/request-supplement", "200"): {
        "Resubmit": ("post", _DOSSIER + "/resubmit", _SAME_DOSSIER),
    },
    ("post", _AGENCY_DOSSIER + "/request-fees", "200"): {
        "ConfirmFees": ("post", _AGENCY_DOSSIER + "/confirm-fees", _SAME_DOSSIER),
    },
    ("post", _AGENCY_DOSSIER + "/result", "201"): {
        "Decide": ("post", _AGENCY_DOSSIER + "/decide", _SAME_DOSSIER),
    },
    ("post", _AGENCY_DOSSIER + "/decide", "200"): {
        "Return": ("post", _AGENCY_DOSSIER + "/return", _SAME_DOSSIER),
        "Result": ("get", _DOSSIER + "/result", _SAME_DOSSIER),
    },
    ("post", _AGENCY_DOSSIER + "/return", "200"): {
        "Rate": ("post", _DOSSIER + "/rating", _SAME_DOSSIER),
    },
    ("post", "/api/v1/feedback", "201"): {
        "GetFeedback": ("get", _FEEDBACK, _BY_FEEDBACK_ID),
        "Attach": ("post", _FEEDBACK + "/attachments", _BY_FEEDBACK_ID),
        "Supplement": ("post", _FEEDBACK + "/supplement", _BY_FEEDBACK_ID),
        "Helpful": ("post", _FEEDBACK + "/helpful", _BY_FEEDBACK_ID),
    },
    ("get", "/api/v1/me/notifications", "200"): {
        "MarkRead": (
            "post",
            "/api/v1/me/notifications/{notification_id}/read",
            {"notification_id": "$response.body#/items/0/id"},
        ),
    },
}


class LinksPlugin(BasePlugin):
    """Adds the OpenAPI links of ``LINKS`` to the responses they start from."""

    def operation_helper(self, path=None, operations=None, **kwargs):
        for method, operation in (operations or {}).items():
            for status, response in operation.get("responses", {}).items():
                links = LINKS.get((method, path, str(status)))
                if links and isinstance(response, dict):
                    response["links"] = {
                        name: {
                            "operationRef": _ref(target, target_path),
                            "parameters": dict(params),
                        }
                        for name, (target, target_path, params) in links.items()
                    }


class HeadersPlugin(BasePlugin):
    """Puts the headers every operation reads and sends on each operation (``apiheaders``).

    Listed after ``ProblemResponsesPlugin``, so it sees every status an operation answers.
    """

    def operation_helper(self, path=None, operations=None, **kwargs):
        for operation in (operations or {}).values():
            operation.setdefault("parameters", []).extend(["ACCEPT_LANGUAGE", "X_REQUEST_ID"])
            idempotency = operation.pop(IDEMPOTENCY_MARK, None)
            if idempotency is not None:
                _declare_idempotency(operation, required=idempotency == "required")
            if operation.pop(DPOP_TOKEN_ENDPOINT_MARK, False):
                _declare_dpop_token_endpoint(operation)
            elif operation.get("security") != []:
                operation["parameters"].append("DPOP")  # with a DPoP-bound access token
            for response in operation.get("responses", {}).values():
                if isinstance(response, dict):  # a shared answer declares its own
                    response.setdefault("headers", {}).setdefault("X-Request-ID", "X_REQUEST_ID")


def _declare_idempotency(operation: dict, *, required: bool) -> None:
    """The key, and what it adds to the answers: any answer that is kept may come again."""
    operation["parameters"].append("IDEMPOTENCY_KEY_REQUIRED" if required else "IDEMPOTENCY_KEY")
    responses = operation.setdefault("responses", {})
    for status in ("409", "422"):  # a retry overtook the first; the key was used otherwise
        if status not in responses and int(status) not in responses:
            responses[status] = http.HTTPStatus(int(status)).name
    for status, response in list(responses.items()):
        code = int(status)
        # A 5xx is never kept; a 413 or 415 comes before the key is looked at.
        if code >= 500 or code in (304, 413, 415):
            continue
        if isinstance(response, str):
            response = responses[status] = _inline_problem(code)
        headers = response.setdefault("headers", {})
        headers["Idempotent-Replayed"] = "IDEMPOTENT_REPLAYED"
        if code == 409:
            headers["Retry-After"] = "RETRY_AFTER_IF_RUNNING"


def _declare_dpop_token_endpoint(operation: dict) -> None:
    """The proof that binds the tokens, and the 400 that refuses it or asks for a nonce."""
    operation["parameters"].append("DPOP")
    responses = operation.setdefault("responses", {})
    key = 400 if 400 in responses else "400"
    response = responses.get(key, "BAD_REQUEST")
    if isinstance(response, str):
        response = responses[key] = _inline_problem(400)
    response.setdefault("headers", {})["DPoP-Nonce"] = "DPOP_NONCE"


def _inline_problem(status: int) -> dict:
    """A shared problem answer written out, so that one operation can add to its headers."""
    return {
        "description": http.HTTPStatus(status).phrase,
        "content": {PROBLEM_CONTENT_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        "headers": problem_headers(status),
    }


def init_api(app) -> ProblemApi:
    """One Api per app: its OpenAPI document is built from that app's blueprints."""
    plugins = [ProblemResponsesPlugin(), HeadersPlugin(), LinksPlugin(), OperationIdsPlugin()]
    api = ProblemApi(spec_kwargs={"extra_plugins": plugins})
    api.init_app(app)
    api.ma_plugin.converter.add_attribute_function(enum_choices)
    api.spec.components.security_scheme(
        "bearerAuth",
        {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": "Access token from /api/v1/auth/otp/verify or /api/v1/auth/token",
        },
    )
    api.spec.components.security_scheme(
        "dpopAuth",
        {
            "type": "http",
            "scheme": "DPoP",
            "description": "An access token bound to the device's key (token_type DPoP, RFC "
            "9449): `Authorization: DPoP <token>` and a `DPoP` header with a proof by that key "
            "for this method and URL, carrying the token's hash (ath)",
        },
    )
    api.spec.components.security_scheme(
        "phoneProof",
        {
            "type": "apiKey",
            "in": "header",
            "name": "X-Phone-Proof",
            "description": "Anonymous petitioners: proof from /api/v1/feedback/phone-proofs/verify",
        },
    )
    return api
