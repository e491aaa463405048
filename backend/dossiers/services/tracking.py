"""The public status lookup by dossier code, with a verifier only the applicant knows."""

from __future__ import annotations

import hmac

import sqlalchemy as sa

from backend.crypto import vault
from backend.dossiers.models import Dossier
from backend.errors import NotFound
from backend.extensions import db


class TrackingNotFound(NotFound):
    code = "tracking-not-found"


def lookup(*, code: str, verifier: str) -> Dossier:
    """The dossier, if the verifier matches; a wrong verifier looks like an unknown code."""
    dossier = db.session.scalar(sa.select(Dossier).where(Dossier.code == code))
    expected = (dossier.verifier_digests or []) if dossier is not None else []
    candidate = vault().digest(f"{dossier.id if dossier else code}:{verifier}", purpose="tracking")
    if not any(hmac.compare_digest(candidate, digest) for digest in expected):
        raise TrackingNotFound(
            (
                "Không tìm thấy hồ sơ với mã và số kiểm tra này.",
                "No dossier matches this code and verifier.",
            )
        )
    return dossier
