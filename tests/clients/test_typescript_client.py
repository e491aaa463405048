"""The citizen journey through openapi-typescript + openapi-fetch, type-checked and run with node.

The types are generated from the committed openapi.yaml the way the React Native app and the
portal generate theirs, `tsc --strict` checks the journey against them (an operation, a field
or a header that changes breaks the build), and node walks it against the app served on
loopback. `make clients` installs the pinned npm packages (package-lock.json); `make test`
runs it first.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest

from tests.clients import journey
from tests.helpers.stacks import IN_CI, ROOT
from tests.providers.oidc_provider import serving

pytestmark = [pytest.mark.postgres_only, pytest.mark.committing]

PROJECT = ROOT / "tests" / "clients" / "typescript"
MODULES = PROJECT / "node_modules"


def _run(*command: str, **kwargs) -> str:
    ran = subprocess.run(
        command, capture_output=True, text=True, timeout=300, check=False, **kwargs
    )
    assert ran.returncode == 0, f"{' '.join(command)}\n{ran.stdout[-4000:]}\n{ran.stderr[-4000:]}"
    return ran.stdout


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The journey compiled against types generated from openapi.yaml; yields its folder."""
    node = shutil.which("node")
    if node is None or not (MODULES / ".bin" / "tsc").exists():
        message = "node or the npm packages are missing (make clients)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    folder = tmp_path_factory.mktemp("typescript-client")
    for name in ("journey.ts", "tsconfig.json", "package.json"):
        shutil.copy(PROJECT / name, folder / name)
    (folder / "node_modules").symlink_to(MODULES, target_is_directory=True)
    _run(node, str(PROJECT / "generate.mjs"), str(ROOT / "openapi.yaml"), str(folder / "schema.ts"))
    _run(str(MODULES / ".bin" / "tsc"), "--strict", "-p", str(folder / "tsconfig.json"))
    return node, folder


def test_the_citizen_journey_through_the_generated_typescript_client(app, demo_catalog, built):
    node, folder = built
    with serving(app) as base:
        printed = _run(
            node,
            str(folder / "dist" / "journey.js"),
            env={
                **os.environ,
                "BASE_URL": base,
                "SMS_OUTBOX_FILE": app.config["SMS_OUTBOX_FILE"],
                "SAMPLE": str(journey.SAMPLE),
            },
        )
    figures = journey.Figures([journey.Exchange(**seen) for seen in json.loads(printed)])
    figures.check()
    journey.report(figures, "TypeScript")
