"""Probes for the load balancer."""

from __future__ import annotations

from backend import create_app
from tests.helpers.stacks import Stack, app_config


def test_healthz(client):
    response = client.get("/healthz")
    assert (response.status_code, response.get_json()) == (200, {"status": "ok"})


def test_readyz_checks_what_is_configured(client, stack):
    body = client.get("/readyz").get_json()
    expected = {"database": "ok", "redis": "ok"} if stack.postgres else {"database": "ok"}
    assert body == {"status": "ok", "checks": expected}


def test_readyz_is_503_when_redis_is_unreachable(stack, tmp_path):
    broken = Stack(stack.name, stack.database_url, "redis://127.0.0.1:1/0")
    # Only the readiness check's Redis is broken here; rate limits keep a working store.
    config = app_config(broken, tmp_path, RATELIMIT_STORAGE_URI=stack.redis_url or "memory://")
    client = create_app(config).test_client()
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["checks"]["redis"] == "unreachable"
    assert response.headers["Retry-After"] == "5"
