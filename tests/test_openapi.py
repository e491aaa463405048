"""openapi.yaml is generated from the code, valid, and true of every operation."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import schemathesis
import yaml
from hypothesis import HealthCheck, settings
from openapi_spec_validator import validate
from schemathesis.checks import positive_data_acceptance

SPEC_FILE = Path(__file__).resolve().parent.parent / "openapi.yaml"


def generated(app) -> dict:
    return json.loads(json.dumps(app.extensions["api"].spec.to_dict()))


def test_committed_document_matches_the_code(app):
    committed = yaml.safe_load(SPEC_FILE.read_text(encoding="utf-8"))
    assert committed == generated(app), (
        "openapi.yaml is stale: run `make openapi` and commit the result"
    )


def test_document_is_valid_openapi_3_1(app):
    spec = generated(app)
    assert spec["openapi"].startswith("3.1")
    validate(spec)


def test_every_error_response_is_problem_json(app):
    for path, operations in generated(app)["paths"].items():
        for method, operation in operations.items():
            if method == "parameters":
                continue
            assert "default" not in operation["responses"], f"{method} {path}"
            for status, response in operation["responses"].items():
                if int(status) >= 400:
                    assert response == {"$ref": f"#/components/responses/{_name(status)}"} or (
                        "application/problem+json" in response.get("content", {})
                    ), f"{method} {path} {status}"


def _name(status: str) -> str:
    from http import HTTPStatus

    return HTTPStatus(int(status)).name


@pytest.fixture
def api_schema(app, demo_catalog):
    # The document is the same on both stacks, and the fuzzing is the slowest part of the
    # suite: it runs against the production stack (PostgreSQL + Redis).
    if not app.stack.postgres:
        pytest.skip("schemathesis runs on the PostgreSQL stack")
    return schemathesis.openapi.from_wsgi("/openapi.json", app)


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_operation_honours_the_document(case):
    # All checks but one: an opaque cursor or a form's business rules can refuse a value the
    # schema allows, with a documented 422, which is not a bug.
    # The test transport does not decode brotli or gzip: ask for plain answers.
    case.call_and_validate(
        headers={"Accept-Encoding": "identity"}, excluded_checks=[positive_data_acceptance]
    )
