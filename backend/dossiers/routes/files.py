"""Sending a stored document to its reader: a presigned link where storage allows, else a stream."""

from __future__ import annotations

from flask import Response, current_app, redirect

from backend.apiheaders import LOCATION
from backend.dossiers.models import Document
from backend.storage import get_store
from backend.storage.filenames import content_disposition
from backend.storage.sniff import FileType

DOWNLOAD_SECONDS = 300
# A download's bytes, for generated clients: the file's own type is sent, and
# application/octet-stream stands for "whichever", so that a generator offers a method that
# returns them (openapi-python-client knows no image/* type).
FILE_RESPONSES = {
    "responses": {
        "200": {
            "description": "The file, as its bytes showed it to be (Content-Type says which)",
            "content": {
                media: {"schema": {"type": "string", "format": "binary"}}
                for media in (
                    "application/octet-stream",
                    "application/pdf",
                    "image/jpeg",
                    "image/png",
                    "image/heic",
                )
            },
            "headers": {
                "Content-Disposition": "CONTENT_DISPOSITION",
                "X-Content-Type-Options": "X_CONTENT_TYPE_OPTIONS",
            },
        },
        "302": {
            "description": "A short-lived link to the file in object storage",
            "headers": LOCATION,
        },
    }
}


def send_document(document: Document) -> Response:
    store = get_store()
    media_type = FileType(document.file_type).media_type
    url = store.presigned_download(
        document.blob_key,
        expires_in=DOWNLOAD_SECONDS,
        filename=document.file_name,
        content_type=media_type,
    )
    if url is not None:
        return redirect(url, code=302)
    stream = store.open(document.blob_key)

    def chunks():
        with stream:
            yield from iter(lambda: stream.read(64 * 1024), b"")

    response = current_app.response_class(chunks(), mimetype=media_type, direct_passthrough=True)
    response.headers["Content-Length"] = str(document.size)
    response.headers["Content-Disposition"] = content_disposition(document.file_name)
    # Never let a browser guess the type of a citizen's file.
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    return response
