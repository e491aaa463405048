"""gunicorn as we run it: its own error answers are problem+json like everything else.

gunicorn answers some requests before the app sees them: a request line over 4,094 bytes
(414), more than 100 header fields or one over 8,190 bytes (431), a NUL or raw 0xFF byte in the
request line, a line that is no HTTP at all, a request smuggling both Content-Length and
Transfer-Encoding (400), an unknown transfer coding (501). It writes those as HTML pages. A
client of this API must only ever get ``application/problem+json``, so the worker class below
(gunicorn's threaded worker, named in ``gunicorn_conf.py``) writes them as problem details, with
the status plain gunicorn would have chosen.

The request was not parsed, so there is no ``Accept-Language`` to honour: the title is
Vietnamese, the detail says it in both languages, and a fresh request id, logged with the
status and gunicorn's reason, lets a client's report be matched with the log.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from http import HTTPStatus

from gunicorn import util
from gunicorn.workers.gthread import ThreadWorker

from backend.db import new_id

# status: (problem code, Vietnamese title, Vietnamese detail, English detail); the details may
# quote gunicorn's limits: {line}, {fields}, {field_size}.
EARLY_ERRORS = {
    400: (
        "bad-request",
        "Yêu cầu không hợp lệ",
        "Máy chủ không đọc được yêu cầu HTTP này.",
        "The server could not read this HTTP request.",
    ),
    403: ("forbidden", "Không có quyền", "Yêu cầu bị từ chối.", "The request is refused."),
    414: (
        "uri-too-long",
        "Địa chỉ quá dài",
        "Dòng yêu cầu dài quá {line} byte.",
        "The request line is longer than {line} bytes.",
    ),
    417: (
        "expectation-failed",
        "Không đáp ứng được Expect",
        "Máy chủ không hỗ trợ tiêu đề Expect đã gửi.",
        "The server does not support the Expect header sent.",
    ),
    431: (
        "request-header-fields-too-large",
        "Tiêu đề yêu cầu quá lớn",
        "Có hơn {fields} tiêu đề, hoặc một tiêu đề dài quá {field_size} byte.",
        "There are more than {fields} header fields, or one is longer than {field_size} bytes.",
    ),
    501: (
        "not-implemented",
        "Chưa hỗ trợ",
        "Máy chủ không hỗ trợ cách mã hóa truyền tải này.",
        "The server does not support this transfer coding.",
    ),
    500: (
        "internal-error",
        "Lỗi máy chủ",
        "Đã có lỗi xảy ra; hãy thử lại sau.",
        "Something went wrong; try again later.",
    ),
}

# gunicorn's defaults, which backend/gunicorn_conf.py states again.
DEFAULT_LIMITS = {"line": 4094, "fields": 100, "field_size": 8190}


def problem_bytes(
    status: int, request_id: str, limits: Mapping[str, int] = DEFAULT_LIMITS
) -> bytes:
    """A whole HTTP/1.1 response: the problem for ``status``, then the connection closes."""
    code, title, detail_vi, detail_en = EARLY_ERRORS.get(
        status, EARLY_ERRORS[500] if status >= 500 else EARLY_ERRORS[400]
    )
    body = json.dumps(
        {
            "type": os.environ.get("PROBLEM_TYPE_BASE", "urn:dvc-mobile:problem:") + code,
            "title": title,
            "status": status,
            "detail": f"{detail_vi.format(**limits)} ({detail_en.format(**limits)})",
            "request_id": request_id,
        },
        ensure_ascii=False,
    ).encode()
    try:
        reason = HTTPStatus(status).phrase
    except ValueError:
        reason = "Error"
    head = (
        f"HTTP/1.1 {status} {reason}\r\n"
        "Connection: close\r\n"
        "Content-Type: application/problem+json\r\n"
        f"Content-Length: {len(body)}\r\n"
        f"X-Request-ID: {request_id}\r\n"
        "\r\n"
    )
    return head.encode("latin-1") + body


class ProblemWorker(ThreadWorker):
    """gunicorn's gthread worker whose own error answers are problem+json."""

    def init_process(self) -> None:
        # gunicorn's handle_error picks the status (the same as plain gunicorn), logs, and
        # writes every early error through this one module function; in a worker process of
        # ours it writes a problem instead of a page.
        limits = {
            "line": self.cfg.limit_request_line,
            "fields": self.cfg.limit_request_fields,
            "field_size": self.cfg.limit_request_field_size,
        }

        def write_problem(sock, status_int: int, reason: str, mesg: str) -> None:
            # mesg may quote the bad request: it goes to the log (quoted), never to the client.
            # gunicorn's reason phrase is not always the status's (501 "Bad Request").
            request_id = new_id()
            self.log.info("answered %s, request id %s: %r", status_int, request_id, mesg)
            util.write_nonblock(sock, problem_bytes(status_int, request_id, limits))

        util.write_error = write_problem
        super().init_process()
