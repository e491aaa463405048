"""JSON logs: one line per request, each carrying a request id that the client can quote.

Nothing that names a person reaches a log line: phone numbers (``0912 345 678``,
``+84912345678``, ``84912345678`` and their spaced, dotted or dashed forms) and national ID
numbers (12-digit CCCD, 9-digit CMND) are masked in every field, the message and the
exception text alike. They get there through paths a citizen typed, and through the messages
of database drivers and libraries that quote the values they choked on.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
from datetime import UTC, datetime

from flask import Flask, g, request

from backend.db import new_id

access_log = logging.getLogger("backend.access")

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{8,64}$")
# Not part of a longer word or number on either side; one space, dot or dash may part digits.
_PHONE = re.compile(r"(?<![\w+])(?:\+84|84|0)(?:[ .-]?\d){9,10}(?!\w)")
_ID_NUMBER = re.compile(r"(?<![\w+])(?:\d[ .-]?){11}\d(?!\w)|(?<![\w+.-])\d{9}(?![\w.-])")
_RESERVED = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


def scrub(value):
    """``value`` with phone and national ID numbers masked, inside strings, lists and dicts."""
    if isinstance(value, str):
        return _ID_NUMBER.sub("[id-number]", _PHONE.sub("[phone]", value))
    if isinstance(value, dict):
        return {key: scrub(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [scrub(item) for item in value]
    if value is None or isinstance(value, bool | float):
        return value
    if isinstance(value, int):
        masked = scrub(str(value))
        return value if masked == str(value) else masked
    return scrub(str(value))  # what json.dumps(default=str) would write


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        line.update({k: v for k, v in record.__dict__.items() if k not in _RESERVED})
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        line = scrub(line)
        return json.dumps(line, ensure_ascii=False, default=str)


def _not_a_server_request_line(record: logging.LogRecord) -> bool:
    # The development server logs each request line with its query string; ours replaces it.
    return " - - [" not in record.getMessage()


def configure_logging(level: str) -> None:
    root = logging.getLogger()
    if not any(isinstance(h.formatter, JsonFormatter) for h in root.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonFormatter())
        root.addHandler(handler)
        logging.getLogger("werkzeug").addFilter(_not_a_server_request_line)
    root.setLevel(level)


# These hooks run on every request: each reads Flask's proxies once (a proxy's every
# attribute costs a few calls) and works on the objects behind them.


def _start_request() -> None:
    supplied = request.headers.get("X-Request-ID", "")
    context = g._get_current_object()
    context.request_id = supplied if _REQUEST_ID.match(supplied) else new_id()
    context.request_started = time.perf_counter()


def _finish_request(response):
    context, incoming = g._get_current_object(), request._get_current_object()
    request_id = context.get("request_id")
    response.headers["X-Request-ID"] = request_id or ""
    started = context.get("request_started")
    access_log.info(
        "request",
        extra={
            "request_id": request_id,
            "method": incoming.method,
            # The path only: query strings may carry verifiers and search terms.
            "path": incoming.path,
            "status": response.status_code,
            "duration_ms": round((time.perf_counter() - started) * 1000, 2) if started else None,
            "bytes": response.calculate_content_length(),
            "remote_addr": incoming.remote_addr,
            "principal": context.get("principal_id"),
        },
    )
    return response


def init_app(app: Flask) -> None:
    configure_logging(app.config["LOG_LEVEL"])
    app.before_request(_start_request)
    app.after_request(_finish_request)
