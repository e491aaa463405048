"""Guessing the public lookup's verifier for one dossier from many addresses.

The verifier is four digits (the end of the applicant's phone or ID number) and dossier codes
follow each other day by day, so a limit per address is not enough: wrong verifiers are
counted per code as well, wherever they come from.
"""

from __future__ import annotations

from tests.dossiers import conftest as dossiers

_catalog, clock, filing = dossiers._catalog, dossiers.clock, dossiers.filing


def lookup(client, code: str, verifier: str, address: str):
    return client.get(
        f"/api/v1/tracking/{code}?verifier={verifier}", environ_base={"REMOTE_ADDR": address}
    )


def test_wrong_verifiers_for_one_code_are_limited_across_addresses(app, client, filing):
    code = filing.filed()["code"]
    other = filing.filed()["code"]
    limit = int(app.config["RATELIMIT_TRACKING_PER_CODE"].split("/")[0])
    guesses = [
        lookup(client, code, f"{n:04d}", f"198.51.100.{n}").status_code for n in range(limit)
    ]
    assert guesses == [404] * limit
    # The next guess, from yet another address, is refused before it is checked, even right.
    refused = lookup(client, code, "5678", "203.0.113.7")
    assert refused.status_code == 429
    assert refused.mimetype == "application/problem+json" and refused.headers["Retry-After"]
    # Another dossier's code is not affected, nor is the right verifier counted.
    for _ in range(limit + 2):
        assert lookup(client, other, "5678", "203.0.113.8").status_code == 200
    assert lookup(client, other, "5678", "203.0.113.9").status_code == 200


def test_right_verifiers_are_not_counted(app, client, filing):
    code = filing.filed()["code"]
    limit = int(app.config["RATELIMIT_TRACKING_PER_CODE"].split("/")[0])
    for n in range(limit + 3):
        assert lookup(client, code, "5678", f"198.51.100.{n}").status_code == 200
