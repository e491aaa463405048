"""gunicorn as we run it: its own error answers are problem+json like everything else.

gunicorn answers some requests before the app sees them: a request line over 4,094 bytes
(414), a header over 8,190 bytes (431), a NUL or raw 0xFF byte in the request line or a line
that is no HTTP at all (400). It writes those as HTML pages. A client of this API must only
ever get ``application/problem+json``, so the worker class below (gunicorn's threaded worker)
writes them as problem details instead: ``--worker-class backend.server.ProblemWorker``.

The request was not parsed, so there is no ``Accept-Language`` to honour: the title is
Vietnamese, the detail says it in both languages, and a fresh request id lets a report be
matched with the log line gunicorn writes.
"""

from __future__ import annotations

import json
import os

from gunicorn import util
from gunicorn.workers.gthread import ThreadWorker

from backend.db import new_id

# status: (problem code, Vietnamese title, Vietnamese detail, English detail)
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
        "Dòng yêu cầu dài quá 4094 byte.",
        "The request line is longer than 4,094 bytes.",
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
        "Một tiêu đề hoặc toàn bộ tiêu đề vượt quá giới hạn.",
        "A header, or all of them together, is over the limit.",
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


def problem_bytes(status: int, reason: str) -> bytes:
    """A whole HTTP/1.1 response: the problem for ``status``, then the connection closes."""
    code, title, detail_vi, detail_en = EARLY_ERRORS.get(
        status, EARLY_ERRORS[500] if status >= 500 else EARLY_ERRORS[400]
    )
    request_id = new_id()
    body = json.dumps(
        {
            "type": os.environ.get("PROBLEM_TYPE_BASE", "urn:dvc-mobile:problem:") + code,
            "title": title,
            "status": status,
            "detail": f"{detail_vi} ({detail_en})",
            "request_id": request_id,
        },
        ensure_ascii=False,
    ).encode()
    head = (
        f"HTTP/1.1 {status} {reason}\r\n"
        "Connection: close\r\n"
        "Content-Type: application/problem+json\r\n"
        f"Content-Length: {len(body)}\r\n"
        f"X-Request-ID: {request_id}\r\n"
        "\r\n"
    )
    return head.encode("latin-1") + body


def write_problem(sock, status_int: int, reason: str, mesg: str) -> None:
    """gunicorn's ``util.write_error``, as problem+json (``mesg`` may quote the bad request: it
    goes to gunicorn's log, not back to the client)."""
    util.write_nonblock(sock, problem_bytes(status_int, reason))


class ProblemWorker(ThreadWorker):
    """gunicorn's gthread worker whose own error answers are problem+json."""

    def init_process(self) -> None:
        # gunicorn writes every early error through this one module function; in a worker
        # process of ours it is ours.
        util.write_error = write_problem
        super().init_process()
