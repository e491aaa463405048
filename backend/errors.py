"""The one place where failures become RFC 9457 ``application/problem+json`` answers.

Services raise ``DomainError`` subclasses that say what went wrong (``kind``) but not which
HTTP status that is; the mapping from kind to status lives here, with the titles in both
languages. Werkzeug/webargs HTTP errors and unexpected exceptions end up here too, so no HTML
page and no stack trace ever reaches a client.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

from flask import Flask, current_app, g, has_request_context, request
from gunicorn.http.errors import NoMoreData, ParseException
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException

from backend.i18n import Text, current_language, pick, translate_field_message

log = logging.getLogger(__name__)

PROBLEM_CONTENT_TYPE = "application/problem+json"

KIND_STATUS = {
    "bad_request": 400,
    "unauthorized": 401,
    "forbidden": 403,
    "not_found": 404,
    "conflict": 409,
    "gone": 410,
    "precondition_failed": 412,
    "too_large": 413,
    "unsupported_media_type": 415,
    "invalid": 422,
    "precondition_required": 428,
    "rate_limited": 429,
    "bad_gateway": 502,
    "unavailable": 503,
}

STATUS_TEXT: dict[int, tuple[str, Text, Text]] = {
    # status: (problem code, title, default detail)
    400: (
        "bad-request",
        ("Yêu cầu không hợp lệ", "Bad request"),
        ("Máy chủ không hiểu được yêu cầu.", "The server could not understand the request."),
    ),
    401: (
        "unauthorized",
        ("Chưa xác thực", "Authentication required"),
        ("Cần đăng nhập để thực hiện thao tác này.", "Sign in to do this."),
    ),
    403: (
        "forbidden",
        ("Không có quyền", "Forbidden"),
        ("Bạn không có quyền thực hiện thao tác này.", "You may not do this."),
    ),
    404: (
        "not-found",
        ("Không tìm thấy", "Not found"),
        ("Không có tài nguyên tại địa chỉ này.", "Nothing exists at this address."),
    ),
    405: (
        "method-not-allowed",
        ("Phương thức không được hỗ trợ", "Method not allowed"),
        (
            "Địa chỉ này không hỗ trợ phương thức HTTP đã dùng.",
            "This address does not support the HTTP method used.",
        ),
    ),
    406: (
        "not-acceptable",
        ("Không đáp ứng được định dạng yêu cầu", "Not acceptable"),
        ("Máy chủ chỉ trả về JSON.", "The server only answers in JSON."),
    ),
    409: (
        "conflict",
        ("Xung đột trạng thái", "Conflict"),
        (
            "Yêu cầu mâu thuẫn với trạng thái hiện tại.",
            "The request conflicts with the current state.",
        ),
    ),
    410: (
        "gone",
        ("Không còn tồn tại", "Gone"),
        ("Tài nguyên này không còn tồn tại.", "This resource no longer exists."),
    ),
    412: (
        "precondition-failed",
        ("Dữ liệu đã thay đổi", "Precondition failed"),
        (
            "Dữ liệu đã được thay đổi từ lần tải trước; hãy tải lại rồi thử lại.",
            "The resource changed since you loaded it; reload and try again.",
        ),
    ),
    413: (
        "payload-too-large",
        ("Dữ liệu gửi lên quá lớn", "Payload too large"),
        (
            "Nội dung gửi lên vượt quá giới hạn cho phép.",
            "The request body is over the allowed size.",
        ),
    ),
    415: (
        "unsupported-media-type",
        ("Kiểu nội dung không được hỗ trợ", "Unsupported media type"),
        (
            "Hãy gửi nội dung với Content-Type được hỗ trợ (application/json).",
            "Send the body with a supported Content-Type (application/json).",
        ),
    ),
    422: (
        "validation-failed",
        ("Dữ liệu không hợp lệ", "Validation failed"),
        ("Một số trường chưa hợp lệ.", "Some fields are not valid."),
    ),
    428: (
        "precondition-required",
        ("Thiếu điều kiện phiên bản", "Precondition required"),
        (
            "Hãy gửi kèm tiêu đề If-Match với ETag đã nhận.",
            "Send an If-Match header with the ETag you received.",
        ),
    ),
    429: (
        "too-many-requests",
        ("Quá nhiều yêu cầu", "Too many requests"),
        (
            "Bạn đã thử quá nhiều lần; hãy đợi rồi thử lại.",
            "Too many attempts; wait and try again.",
        ),
    ),
    500: (
        "internal-error",
        ("Lỗi hệ thống", "Internal server error"),
        ("Đã có lỗi xảy ra; hãy thử lại sau.", "Something went wrong; try again later."),
    ),
    502: (
        "bad-gateway",
        ("Hệ thống liên kết trả lời sai", "Bad gateway"),
        (
            "Một hệ thống bên ngoài đã trả lời không hợp lệ; hãy thử lại sau.",
            "An outside system gave an invalid answer; try again later.",
        ),
    ),
    503: (
        "service-unavailable",
        ("Dịch vụ tạm thời gián đoạn", "Service unavailable"),
        (
            "Hệ thống đang bận hoặc đang bảo trì; hãy thử lại sau ít phút.",
            "The service is busy or under maintenance; try again in a few minutes.",
        ),
    ),
}


# Headers a problem with this status always carries (the document says so): a 401 names the
# scheme to sign in with (RFC 9110 11.6.1), a 429 or 503 when to come back. Who raised it may
# say better.
STATUS_HEADERS: dict[int, tuple[str, str]] = {
    401: ("WWW-Authenticate", 'Bearer realm="dvc-mobile"'),
    429: ("Retry-After", "60"),
    503: ("Retry-After", "5"),
}


class DomainError(Exception):
    """Base of every rule a service can refuse. Subclasses set code, kind and title."""

    code: str = "invalid-request"
    kind: str = "invalid"
    title: Text = ("Yêu cầu không hợp lệ", "Invalid request")

    def __init__(
        self,
        detail: Text | str | None = None,
        *,
        errors: Mapping[str, list[str]] | None = None,
        extra: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ):
        super().__init__(pick(detail, "en") if detail else self.code)
        self.detail = detail
        self.errors = errors
        self.extra = dict(extra or {})
        self.headers = dict(headers or {})


class NotFound(DomainError):
    code = "not-found"
    kind = "not_found"
    title = STATUS_TEXT[404][1]


class ValidationFailed(DomainError):
    code = "validation-failed"
    kind = "invalid"
    title = STATUS_TEXT[422][1]


class Conflict(DomainError):
    code = "conflict"
    kind = "conflict"
    title = STATUS_TEXT[409][1]


def problem_response(
    status: int,
    *,
    code: str | None = None,
    title: Text | str | None = None,
    detail: Text | str | None = None,
    errors: Mapping[str, list[str]] | None = None,
    extra: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
):
    language = current_language()
    default_code, default_title, default_detail = STATUS_TEXT.get(
        status, STATUS_TEXT[500] if status >= 500 else STATUS_TEXT[400]
    )
    body: dict[str, Any] = {
        "type": current_app.config["PROBLEM_TYPE_BASE"] + (code or default_code),
        "title": pick(title or default_title, language),
        "status": status,
        "detail": pick(detail or default_detail, language),
    }
    if has_request_context():
        body["instance"] = request.path
        if "request_id" in g:
            body["request_id"] = g.request_id
    if errors:
        body["errors"] = {
            field: [translate_field_message(m, language) for m in messages]
            for field, messages in errors.items()
        }
    # Extension members add to a problem; they never replace its standard members (RFC 9457).
    body.update({name: value for name, value in (extra or {}).items() if name not in body})
    response = current_app.response_class(
        json.dumps(body, ensure_ascii=False), status=status, mimetype=PROBLEM_CONTENT_TYPE
    )
    response.headers["Content-Language"] = language
    response.headers.extend(dict(headers or {}))
    if status in STATUS_HEADERS and STATUS_HEADERS[status][0] not in response.headers:
        response.headers.set(*STATUS_HEADERS[status])
    return response


def flatten_messages(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    """Turn marshmallow's nested messages into ``{"data.birth_date": ["..."]}``."""
    if isinstance(messages, Mapping):
        flat: dict[str, list[str]] = {}
        for key, value in messages.items():
            name = str(key) if key != "_schema" else ""
            path = f"{prefix}.{name}" if prefix and name else (prefix or name or "_schema")
            flat.update(flatten_messages(value, path))
        return flat
    if isinstance(messages, list | tuple):
        if all(isinstance(m, str) for m in messages):
            return {prefix or "_schema": list(messages)}
        flat = {}
        for message in messages:
            flat.update(flatten_messages(message, prefix))
        return flat
    return {prefix or "_schema": [str(messages)]}


def _request_messages(data: Mapping[str, Any]) -> dict[str, list[str]]:
    """webargs groups messages by location (json, query, ...); clients want field names."""
    messages = data.get("errors") or data.get("messages") or {}
    merged: dict[str, list[str]] = {}
    for location_messages in messages.values() if isinstance(messages, Mapping) else [messages]:
        for field, texts in flatten_messages(location_messages).items():
            merged.setdefault(field, []).extend(texts)
    return merged


def not_modified(etag: str | None):
    """A 304, repeating the ETag it confirms (RFC 9110 15.4.5)."""
    response = current_app.response_class(status=304)
    if etag:
        response.set_etag(etag)
    return response


def problem_from_http_exception(error: HTTPException):
    status = error.code or 500
    if status == 304:
        return not_modified(g.get("not_modified_etag"))
    data = getattr(error, "data", None) or {}
    errors = _request_messages(data)
    headers = dict(data.get("headers") or {})
    if status == 405:
        headers.update({k: v for k, v in error.get_headers() if k != "Content-Type"})
    if status == 400 and "Invalid JSON body." in errors.get("_schema", []):
        return problem_response(
            400,
            code="malformed-json",
            detail=("Nội dung JSON không đọc được.", "The JSON body could not be parsed."),
            headers=headers,
        )
    return problem_response(status, errors=errors or None, headers=headers)


def handle_domain_error(error: DomainError):
    status = KIND_STATUS[error.kind]
    return problem_response(
        status,
        code=error.code,
        title=error.title,
        detail=error.detail,
        errors=error.errors,
        extra=error.extra,
        headers=error.headers,
    )


_UNAVAILABLE = (RedisConnectionError, RedisTimeoutError, PoolTimeout)


def _is_unavailable(error: Exception) -> bool:
    """Failures of a backing service that a retry a little later can cure."""
    if isinstance(error, _UNAVAILABLE):
        return True
    if not isinstance(error, OperationalError):
        return False
    return (
        error.connection_invalidated
        or type(error.orig).__module__.startswith("psycopg")
        or "database is locked" in str(error.orig)
    )


# gunicorn reads a request's body as the app asks for it, so a broken chunked body (a bad chunk
# size, a missing terminator) or a client gone mid-body surfaces inside the app as gunicorn's
# own exception: the client's fault, not ours.
_UNREADABLE_BODY = (ParseException, NoMoreData)


def handle_unexpected(error: Exception):
    if isinstance(error, HTTPException):
        return problem_from_http_exception(error)
    if isinstance(error, _UNREADABLE_BODY):
        log.info("request body unreadable: %s", type(error).__name__)
        return problem_response(
            400,
            code="unreadable-body",
            detail=(
                "Không đọc được nội dung yêu cầu (mã hóa chunked sai hoặc bị cắt ngang).",
                "The request body could not be read (bad chunked coding, or cut short).",
            ),
        )
    if _is_unavailable(error):
        log.warning("backing service unavailable: %s", type(error).__name__)
        return problem_response(503, headers={"Retry-After": "5"})
    log.exception("unhandled error")
    return problem_response(500)


def init_app(app: Flask) -> None:
    app.register_error_handler(DomainError, handle_domain_error)
    app.register_error_handler(Exception, handle_unexpected)
