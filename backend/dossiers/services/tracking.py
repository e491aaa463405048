"""The public status lookup by dossier code, with a secret only the applicant was given.

Dossier codes follow each other day by day, as the law numbers them, so a code is no secret.
Each dossier gets a lookup secret of 50 random-looking bits, printed on its receipt and sent in
its confirmation: too many to guess from any number of addresses, so wrong guesses need no
counter per code, and nobody can lock an applicant out of their own dossier by guessing.
It is derived from the dossier id with a server key rather than stored: the owner's app and an
officer reprinting a counter receipt can show it again, and there is nothing to leak at rest.

The old verifier, the last four digits of the applicant's phone or ID number, is kept only for
dossiers handed in at the counter or by post, whose applicants may hold nothing but a phone;
its wrong guesses are limited per caller (``routes/tracking.py``).
"""

from __future__ import annotations

import hmac

import sqlalchemy as sa

from backend.crypto import vault
from backend.dossiers.models import Channel, Dossier
from backend.errors import NotFound
from backend.extensions import db

# Crockford's base32: no I, L, O or U, so a secret read aloud or typed from paper survives.
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
SECRET_CHARACTERS = 10  # 50 bits
_READ_AS = str.maketrans({"O": "0", "I": "1", "L": "1", "-": None, " ": None})


class TrackingNotFound(NotFound):
    code = "tracking-not-found"


def lookup_secret(dossier_id: str) -> str:
    """``XXXXX-XXXXX``: the dossier's lookup secret, the same every time it is asked for."""
    number = int(vault().digest(dossier_id, purpose="tracking-secret")[:16], 16)
    characters = [ALPHABET[(number >> (5 * i)) & 31] for i in range(SECRET_CHARACTERS)]
    half = SECRET_CHARACTERS // 2
    return "".join(characters[:half]) + "-" + "".join(characters[half:])


def normalise_secret(text: str) -> str:
    """What the applicant typed, as ``lookup_secret`` writes it (case, dashes, O/0, I/L/1)."""
    plain = text.upper().translate(_READ_AS)
    half = SECRET_CHARACTERS // 2
    return plain[:half] + "-" + plain[half:]


def _not_found() -> TrackingNotFound:
    return TrackingNotFound(
        (
            "Không tìm thấy hồ sơ với mã và mã tra cứu này.",
            "No dossier matches this code and lookup secret.",
        )
    )


def lookup(*, code: str, secret: str | None = None, verifier: str | None = None) -> Dossier:
    """The dossier, if the secret (or a counter dossier's verifier) matches.

    A wrong secret or verifier looks exactly like an unknown code, and takes the same work.
    """
    dossier = db.session.scalar(sa.select(Dossier).where(Dossier.code == code))
    key = dossier.id if dossier is not None else code
    if secret is not None:
        matches = hmac.compare_digest(normalise_secret(secret), lookup_secret(key))
    else:
        expected = (dossier.verifier_digests or []) if dossier is not None else []
        candidate = vault().digest(f"{key}:{verifier}", purpose="tracking")
        matches = any(hmac.compare_digest(candidate, digest) for digest in expected)
        matches = matches and dossier.channel is not Channel.ONLINE
    if dossier is None or not matches:
        raise _not_found()
    return dossier
