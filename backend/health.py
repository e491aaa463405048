"""Liveness and readiness probes for the load balancer and the orchestrator."""

from __future__ import annotations

import marshmallow as ma
import sqlalchemy as sa

from backend.errors import DomainError
from backend.extensions import db, get_redis
from backend.identity.access import public
from backend.web import Blueprint, Schema

blp = Blueprint("health", __name__, description="Probes")


class NotReady(DomainError):
    code = "not-ready"
    kind = "unavailable"
    title = ("Dịch vụ chưa sẵn sàng", "Service not ready")


class HealthSchema(Schema):
    status = ma.fields.String(required=True)
    checks = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.String())


@blp.route("/healthz")
@public
@blp.response(200, HealthSchema)
def healthz():
    """The process is up"""
    return {"status": "ok"}


@blp.route("/readyz")
@public
@blp.response(200, HealthSchema)
@blp.refusals(503)
def readyz():
    """The process can reach its database (and Redis when configured)"""
    checks = {}
    try:
        db.session.execute(sa.text("SELECT 1"))
        checks["database"] = "ok"
    except sa.exc.SQLAlchemyError:
        checks["database"] = "unreachable"
    client = get_redis()
    if client is not None:
        try:
            client.ping()
            checks["redis"] = "ok"
        except Exception:  # any failure to answer means not ready
            checks["redis"] = "unreachable"
    if any(v != "ok" for v in checks.values()):
        raise NotReady(extra={"checks": checks}, headers={"Retry-After": "5"})
    return {"status": "ok", "checks": checks}
