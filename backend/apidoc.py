"""How the API documents itself: problem+json errors and the statuses every operation can return.

The generated ``openapi.yaml`` must list every status an operation can answer, so the answers
that come from shared machinery (malformed JSON, wrong content type, unknown id) are added here
once instead of on each route.
"""

from __future__ import annotations

import http

import marshmallow as ma
from apispec import BasePlugin
from flask_smorest import Api
from flask_smorest.utils import prepare_response

PROBLEM_CONTENT_TYPE = "application/problem+json"


class ProblemSchema(ma.Schema):
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
        metadata={"description": "Per-field messages when the request failed validation"},
    )


class ProblemApi(Api):
    ERROR_SCHEMA = ProblemSchema
    # No catch-all "default" response: each operation lists the statuses it can return.
    DEFAULT_ERROR_RESPONSE_NAME = None

    def handle_http_exception(self, error):
        from backend.errors import problem_from_http_exception

        return problem_from_http_exception(error)

    def _register_responses(self):
        for status in http.HTTPStatus:
            response = {"description": status.phrase}
            if not (100 <= status < 200) and status not in (204, 304):
                response["schema"] = self.ERROR_SCHEMA
            prepare_response(response, self.spec, PROBLEM_CONTENT_TYPE)
            self.spec.components.response(status.name, response, lazy=True)


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
