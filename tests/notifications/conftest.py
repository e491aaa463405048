"""Accounts, sessions and devices made directly, and apps that share the test's connection."""

from __future__ import annotations

import pytest

from backend import create_app
from backend.extensions import db
from tests.helpers.stacks import app_config
from tests.helpers.work import unit_of_work


@pytest.fixture
def sibling(app, stack, tmp_path_factory):
    """Another app (other channel settings) on the test's rolled-back connection."""

    def _make(**overrides):
        instance = tmp_path_factory.mktemp("sibling")
        # Same signing keys as the main app, so its tokens open this one.
        overrides.setdefault("SIGNING_KEYS_FILE", app.config["SIGNING_KEYS_FILE"])
        other = create_app(app_config(stack, instance, **overrides))
        with unit_of_work(other):
            db.engines[None] = app.extensions["sqlalchemy"]._app_engines[app][None]
        return other

    return _make
