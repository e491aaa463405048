"""``flask seed-demo`` and ``flask catalog import``."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from backend.catalog.models import Procedure
from backend.extensions import db
from tests.helpers.work import unit_of_work


def procedures(app) -> int:
    with unit_of_work(app):
        return db.session.scalar(sa.select(sa.func.count()).select_from(Procedure))


def test_seed_demo_is_idempotent(runner, app):
    first = runner.invoke(args=["seed-demo"])
    assert first.exit_code == 0, first.output
    assert "procedures: 10 created" in first.output
    second = runner.invoke(args=["seed-demo"])
    assert "versions frozen: 0" in second.output
    assert procedures(app) == 10


@pytest.mark.parametrize(
    "content, message",
    [
        ("{not json", "cannot read"),
        (json.dumps({"procedures": [{"code": "1.000001"}]}), "procedures.0.name"),
        (json.dumps([1, 2]), "_schema"),
    ],
)
def test_bad_catalog_file_is_refused_whole(runner, app, tmp_path, content, message):
    path = tmp_path / "catalog.json"
    path.write_text(content, encoding="utf-8")
    result = runner.invoke(args=["catalog", "import", str(path)])
    assert result.exit_code != 0
    assert message in result.output
    assert procedures(app) == 0


def test_pilot_add(runner, app, demo_catalog, sign_in, client):
    assert runner.invoke(args=["catalog", "pilot-add", "1.000656", "0912345678"]).exit_code != 0
    tokens = sign_in("0912345678")
    result = runner.invoke(args=["catalog", "pilot-add", "1.000656", "0912345678"])
    assert result.exit_code == 0, result.output
    listed = client.get(
        "/api/v1/procedures/1.000656", headers={"Authorization": f"Bearer {tokens['access_token']}"}
    )
    assert listed.status_code == 200
    assert client.get("/api/v1/procedures/1.000656").status_code == 404
