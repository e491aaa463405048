"""A file is a download in a generated client: its bytes are declared as bytes.

openapi-python-client, like most generators, only makes a method that returns a file for a
media type it knows to be binary (application/octet-stream); for image/* or application/pdf
alone it drops the operation's answer. Each download declares its own types and that one.
"""

from __future__ import annotations

import pytest

from tests.test_openapi import generated

DOWNLOADS = [
    "/api/v1/dossiers/{dossier_id}/attachments/{slot}/content",
    "/api/v1/dossiers/{dossier_id}/result",
    "/api/v1/agency/feedback/{feedback_id}/attachments/{attachment_id}",
    "/api/v1/reports/quality/chart.svg",
]
BINARY = {"type": "string", "format": "binary"}


@pytest.mark.parametrize("path", DOWNLOADS)
def test_a_download_declares_bytes(app, path):
    operation = generated(app)["paths"][path]["get"]
    content = operation["responses"]["200"]["content"]

    assert content["application/octet-stream"]["schema"] == BINARY
    assert all(media["schema"] == BINARY for media in content.values())
    assert "Content-Disposition" in operation["responses"]["200"]["headers"]
    errors = [status for status in operation["responses"] if int(status) >= 400]
    assert errors, "a download's refusals are problem details"
