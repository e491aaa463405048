"""Responses over 1 KB travel compressed when the client accepts it: brotli, else gzip.

Flask-Compress does the work. A compressed representation is a different one (RFC 9110
8.8.3), so it gives a strong ETag an encoding suffix: ``"abc"`` becomes ``"abc:br"``. Our views
compute ETags before any encoding and compare what clients send back with those, so the
suffix comes off incoming ``If-Match`` / ``If-None-Match`` before the app reads them, and a 304
repeats the suffixed validator the client holds. A phone that polls with the ETag of a brotli
answer thus gets its cheap 304, and a PATCH with that ETag in ``If-Match`` is not refused.
"""

from __future__ import annotations

import re

from flask import Flask, request
from flask_compress import Compress

ALGORITHMS = ["br", "gzip"]
_SUFFIX = re.compile(r'"([^"]*):(br|gzip|deflate|zstd)"')
_VALIDATORS = ("HTTP_IF_MATCH", "HTTP_IF_NONE_MATCH")
_SENT = "dvc.etag_encoding"

compress = Compress()


class PlainValidators:
    """WSGI middleware: ``"abc:br"`` in a conditional header reads as ``"abc"``."""

    def __init__(self, wsgi_app):
        self.wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        for name in _VALIDATORS:
            value = environ.get(name)
            if value and ":" in value:
                found = _SUFFIX.search(value)
                if found:
                    environ[_SENT] = found.group(2)
                environ[name] = _SUFFIX.sub(r'"\1"', value)
        return self.wsgi_app(environ, start_response)


def _repeat_encoding(response):
    """A 304 confirms the validator the client sent, suffix included."""
    encoding = request.environ.get(_SENT)
    if response.status_code == 304 and encoding:
        etag, weak = response.get_etag()
        if etag and not weak:
            response.set_etag(f"{etag}:{encoding}")
    return response


def init_app(app: Flask) -> None:
    app.config.setdefault("COMPRESS_ALGORITHM", ALGORITHMS)
    app.config.setdefault("COMPRESS_MIN_SIZE", 1024)
    # The views answer conditional requests themselves, before building a body.
    app.config.setdefault("COMPRESS_EVALUATE_CONDITIONAL_REQUEST", False)
    app.config.setdefault(
        "COMPRESS_MIMETYPES",
        [
            "application/json",
            "application/problem+json",
            "text/csv",
            "image/svg+xml",
            "text/html",
            "text/css",
            "text/javascript",
        ],
    )
    compress.init_app(app)
    app.after_request(_repeat_encoding)
    app.wsgi_app = PlainValidators(app.wsgi_app)
