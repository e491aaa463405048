"""Staff roles are named sets of permissions, held at an agency and reaching its children."""

from __future__ import annotations

PERMISSIONS = frozenset(
    {
        "dossier.receive",
        "dossier.process",
        "dossier.decide",
        "dossier.return",
        "feedback.answer",
        "catalog.manage",
        "providers.manage",
        "reports.read",
        "staff.manage",
        # The national working calendar (held at a top-level agency to count).
        "calendar.manage",
    }
)

ROLES: dict[str, frozenset[str]] = {
    # Bộ phận một cửa: receives dossiers and hands results back.
    "receiving_officer": frozenset({"dossier.receive", "dossier.return"}),
    # Chuyên viên: works a dossier, asks for supplements and fees.
    "processing_officer": frozenset({"dossier.process"}),
    # Lãnh đạo: signs the decision and reads the agency's figures.
    "leader": frozenset({"dossier.process", "dossier.decide", "reports.read"}),
    "feedback_officer": frozenset({"feedback.answer", "reports.read"}),
    "catalog_manager": frozenset({"catalog.manage"}),
    "agency_admin": PERMISSIONS,
}


def permissions_of(role: str) -> frozenset[str]:
    return ROLES.get(role, frozenset())
