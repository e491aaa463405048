"""Agency lookups: list, find by code, and an agency with everything below it."""

from __future__ import annotations

import sqlalchemy as sa

from backend.agencies.models import Agency, AgencyLevel
from backend.errors import NotFound
from backend.extensions import db
from backend.pagination import Page, keyset_page


class AgencyNotFound(NotFound):
    code = "agency-not-found"


def list_agencies(
    *,
    level: AgencyLevel | None = None,
    parent_code: str | None = None,
    cursor: str | None = None,
    limit: int = 20,
) -> Page:
    statement = sa.select(Agency)
    if level is not None:
        statement = statement.where(Agency.level == level)
    if parent_code is not None:
        parent = sa.select(Agency.id).where(Agency.code == parent_code).scalar_subquery()
        statement = statement.where(Agency.parent_id == parent)
    return keyset_page(
        statement, order_by=[Agency.code], key=lambda a: [a.code], cursor=cursor, limit=limit
    )


def get_agency(*, code: str) -> Agency:
    agency = db.session.scalar(sa.select(Agency).where(Agency.code == code))
    if agency is None:
        raise AgencyNotFound(("Không có cơ quan mã này.", "No agency has this code."))
    return agency


def agency_in_scope(*, code: str, scope: frozenset[str]) -> Agency:
    """The agency with this code if it lies in ``scope``; any other looks like it does not exist."""
    agency = get_agency(code=code)
    if agency.id not in scope:
        raise AgencyNotFound(("Không có cơ quan mã này.", "No agency has this code."))
    return agency


def any_top_level(agency_ids: frozenset[str]) -> bool:
    """Whether one of these agencies has no parent: a ministry, a province."""
    if not agency_ids:
        return False
    top = sa.select(Agency.id).where(Agency.id.in_(agency_ids), Agency.parent_id.is_(None))
    return db.session.scalar(sa.select(top.exists())) is True


def below(roots: sa.Select) -> sa.Select:
    """``roots`` (rows ending in an agency id, after any columns that travel with it) and the
    same rows for every agency below each one: one recursive statement."""
    tree = roots.cte("tree", recursive=True)
    *carried, agency = tree.c
    return sa.select(
        tree.union(sa.select(*carried, Agency.id).join(tree, Agency.parent_id == agency))
    )


def with_descendants(agency_ids: set[str] | frozenset[str]) -> set[str]:
    """The given agencies and every agency below them (one recursive query)."""
    if not agency_ids:
        return set()
    return set(db.session.scalars(below(sa.select(Agency.id).where(Agency.id.in_(agency_ids)))))
