"""JSON over 1 KB is compressed for clients that accept it, and ETags stay usable.

A compressed representation carries its own strong ETag (``"abc:br"``); sent back in
``If-None-Match`` it still earns a 304 from the view, and in ``If-Match`` it still lets a PATCH
through, whichever encoding the client got.
"""

from __future__ import annotations

import gzip
import json

import brotli
import pytest

from tests.helpers.dossiers import BIRTH, BIRTH_DATA
from tests.helpers.signin import bearer

PROCEDURE = f"/api/v1/procedures/{BIRTH}"
DECODE = {"br": brotli.decompress, "gzip": gzip.decompress}


@pytest.mark.parametrize("encoding", ["br", "gzip"])
def test_a_large_answer_is_compressed_and_reads_the_same(client, demo_catalog, encoding):
    plain = client.get(PROCEDURE)
    assert plain.headers.get("Content-Encoding") is None and len(plain.data) > 1024
    packed = client.get(PROCEDURE, headers={"Accept-Encoding": encoding})
    assert packed.headers["Content-Encoding"] == encoding
    assert "Accept-Encoding" in packed.headers["Vary"]
    assert len(packed.data) < len(plain.data) / 2
    assert json.loads(DECODE[encoding](packed.data)) == plain.get_json()
    # Another representation, another strong validator.
    assert packed.headers["ETag"] == plain.headers["ETag"][:-1] + f':{encoding}"'


def test_brotli_is_preferred_and_small_answers_are_left_alone(client, demo_catalog):
    both = client.get(PROCEDURE, headers={"Accept-Encoding": "gzip, deflate, br"})
    assert both.headers["Content-Encoding"] == "br"
    small = client.get("/healthz", headers={"Accept-Encoding": "br, gzip"})
    assert "Content-Encoding" not in small.headers


@pytest.mark.parametrize("encoding", ["br", "gzip"])
def test_the_compressed_etag_earns_a_304(client, demo_catalog, encoding):
    etag = client.get(PROCEDURE, headers={"Accept-Encoding": encoding}).headers["ETag"]
    again = client.get(PROCEDURE, headers={"Accept-Encoding": encoding, "If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""
    assert again.headers["ETag"] == etag
    # The plain validator still works for a client that does not compress.
    plain = client.get(PROCEDURE).headers["ETag"]
    assert client.get(PROCEDURE, headers={"If-None-Match": plain}).status_code == 304


def test_a_patch_with_the_compressed_etag_is_not_refused(
    app, client, demo_catalog, citizen, monkeypatch
):
    monkeypatch.setitem(app.config, "COMPRESS_MIN_SIZE", 200)  # a draft is under 1 KB
    headers = bearer(citizen)
    draft = client.post(
        "/api/v1/dossiers", json={"procedure_code": BIRTH, "data": BIRTH_DATA}, headers=headers
    )
    assert draft.status_code == 201, draft.get_json()
    url = f"/api/v1/dossiers/{draft.get_json()['id']}"
    seen = client.get(url, headers={**headers, "Accept-Encoding": "br"})
    etag = seen.headers["ETag"]
    assert seen.headers["Content-Encoding"] == "br" and etag.endswith(':br"')
    changed = client.patch(
        url,
        json={"data": {"child_full_name": "Nguyễn Minh Anh"}},
        headers={**headers, "If-Match": etag, "Accept-Encoding": "br"},
    )
    assert changed.status_code == 200, changed.data[:200]
    stale = client.patch(
        url,
        json={"data": {"child_full_name": "Nguyễn Minh"}},
        headers={**headers, "If-Match": etag},
    )
    assert stale.status_code == 412
