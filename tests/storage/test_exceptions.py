"""Storage refusals reach a client as problem+json with the right status, in both languages."""

from __future__ import annotations

import json

import pytest

from backend.errors import handle_domain_error
from backend.storage import (
    BadFileName,
    BlobNotFound,
    EmptyFile,
    FileContentMismatch,
    FileTooLarge,
    FileTypeNotAllowed,
    ImageTooLarge,
    InvalidBlobKey,
    StorageUnavailable,
)

CASES = [
    (FileTooLarge(max_size=10 * 1024 * 1024), 413, "file-too-large", "over the 10 MB limit"),
    (EmptyFile(), 422, "empty-file", "no content"),
    (BadFileName(("Tên sai.", "Bad name.")), 422, "bad-file-name", "Bad name."),
    (
        FileTypeNotAllowed(detected="png", accepted=["pdf"]),
        422,
        "file-type-not-allowed",
        "The file is a PNG; this document accepts only: PDF.",
    ),
    (
        FileTypeNotAllowed(detected=None, accepted=["pdf", "jpeg"]),
        422,
        "file-type-not-allowed",
        "not one of: PDF, JPEG",
    ),
    (
        FileContentMismatch(("Hỏng.", "Damaged.")),
        422,
        "file-content-mismatch",
        "Damaged.",
    ),
    (
        ImageTooLarge(width=100_000, height=100_000, max_pixels=50_000_000),
        422,
        "image-too-large",
        "100000x100000",
    ),
    (InvalidBlobKey(("Sai.", "Wrong.")), 422, "invalid-blob-key", "Wrong."),
    (BlobNotFound("k"), 404, "blob-not-found", "not found"),
    (StorageUnavailable(), 503, "storage-unavailable", "try again"),
]


@pytest.mark.parametrize(("error", "status", "code", "english"), CASES, ids=[c[2] for c in CASES])
def test_refusals_become_problems_with_their_status(app, error, status, code, english):
    with app.test_request_context(headers={"Accept-Language": "en"}):
        english_body = json.loads(handle_domain_error(error).get_data())
    with app.test_request_context():
        response = handle_domain_error(error)
        vietnamese_body = json.loads(response.get_data())

    assert response.status_code == status
    assert response.mimetype == "application/problem+json"
    assert english_body["type"].endswith(code)
    assert english in english_body["detail"]
    assert vietnamese_body["detail"] != english_body["detail"]
    assert vietnamese_body["title"] != english_body["title"]


def test_unavailable_storage_tells_the_client_when_to_retry(app):
    with app.test_request_context():
        response = handle_domain_error(StorageUnavailable())

    assert response.headers["Retry-After"] == "5"
