"""The public lookup by dossier code: unguessable for strangers, never closed to the owner.

Dossier codes follow each other day by day, so anyone can name every dossier of an agency. A
counter per code would let a stranger lock each of them by guessing wrong; instead the lookup
needs a secret of 50 bits that only the receipt and the confirmation carry. The four-digit
verifier is kept for counter dossiers only, and a caller who guesses it wrong runs out of
guesses, not the dossier.
"""

from __future__ import annotations

import re

from backend.dossiers.services.tracking import ALPHABET, SECRET_CHARACTERS
from tests.dossiers import conftest as dossier_fixtures
from tests.helpers import dossiers
from tests.helpers.signin import bearer

_catalog, clock, filing = dossier_fixtures._catalog, dossier_fixtures.clock, dossier_fixtures.filing
receiver = dossier_fixtures.receiver


def lookup(client, code: str, address: str, **query):
    return client.get(
        f"/api/v1/tracking/{code}", query_string=query, environ_base={"REMOTE_ADDR": address}
    )


def register_at_the_counter(client, receiver):
    """A dossier handed in at the counter by an applicant whose phone ends in 0111."""
    body = {
        "procedure_code": dossiers.BIRTH,
        "channel": "counter",
        "applicant": {"full_name": "Lê Văn Cường", "phone": "0977000111"},
        "data": {**dossiers.BIRTH_DATA, "requester_phone": "0977000111"},
    }
    return client.post("/api/v1/agency/dossiers", json=body, headers=bearer(receiver))


def test_a_stranger_guessing_from_many_addresses_cannot_lock_the_owner_out(app, client, filing):
    receipt = filing.filed()
    code, secret = receipt["code"], receipt["lookup_secret"]
    for n in range(40):  # four times what used to lock the code for an hour
        wrong = lookup(client, code, f"198.51.100.{n}", secret=f"{n:05d}-00000")
        assert wrong.status_code == 404
        lookup(client, code, f"198.51.101.{n}", verifier=f"{n:04d}")
    assert lookup(client, code, "203.0.113.7", secret=secret).status_code == 200


def test_the_secret_is_on_the_receipt_the_dossier_and_the_confirmation(app, client, filing):
    receipt = filing.filed()
    secret = receipt["lookup_secret"]
    pattern = f"[{ALPHABET}]{{5}}-[{ALPHABET}]{{5}}"
    assert re.fullmatch(pattern, secret) and SECRET_CHARACTERS * 5 >= 40
    detail = client.get(f"/api/v1/dossiers/{receipt['id']}", headers=filing.headers)
    assert detail.get_json()["lookup_secret"] == secret
    inbox = client.get("/api/v1/me/notifications", headers=filing.headers).get_json()["items"]
    assert any(secret in item["body"] for item in inbox), inbox
    # Another dossier has another secret; a draft has none yet.
    assert filing.filed()["lookup_secret"] != secret
    assert filing.draft().get_json()["lookup_secret"] is None


def test_the_secret_survives_being_typed_from_paper(app, client, filing):
    receipt = filing.filed()
    code, secret = receipt["code"], receipt["lookup_secret"]
    typed = [secret.lower(), secret.replace("-", ""), secret.replace("-", " ")]
    typed.append(secret.replace("0", "o").replace("1", "l"))
    for variant in typed:
        assert lookup(client, code, "203.0.113.7", secret=variant).status_code == 200, variant


def test_four_digits_open_only_a_dossier_handed_in_at_the_counter(app, client, filing, receiver):
    online = filing.filed()["code"]
    # Right digits (the applicant's phone ends in 5678), but an online dossier: no.
    assert lookup(client, online, "203.0.113.7", verifier="5678").status_code == 404
    counter = register_at_the_counter(client, receiver)
    assert counter.status_code == 201, counter.get_json()
    code = counter.get_json()["code"]
    assert lookup(client, code, "203.0.113.7", verifier="0111").status_code == 200


def test_wrong_verifiers_are_limited_per_caller_not_per_dossier(app, client, filing, receiver):
    counter = register_at_the_counter(client, receiver)
    code, secret = counter.get_json()["code"], counter.get_json()["lookup_secret"]
    limit = int(app.config["RATELIMIT_TRACKING_VERIFIER_PER_IP"].split("/")[0])
    guesses = [
        lookup(client, code, "198.51.100.1", verifier=f"{n:04d}").status_code for n in range(limit)
    ]
    assert 200 not in guesses and set(guesses) == {404}
    # That caller has no guess left, even a right one ...
    refused = lookup(client, code, "198.51.100.1", verifier="0111")
    assert refused.status_code == 429
    assert refused.mimetype == "application/problem+json" and refused.headers["Retry-After"]
    # ... but the applicant elsewhere is not affected, nor is the secret from that caller.
    assert lookup(client, code, "203.0.113.7", verifier="0111").status_code == 200
    assert lookup(client, code, "198.51.100.1", secret=secret).status_code == 200
    # Right verifiers are not counted.
    for _ in range(limit + 2):
        assert lookup(client, code, "203.0.113.8", verifier="0111").status_code == 200
