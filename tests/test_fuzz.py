"""Every operation of openapi.yaml, fuzzed as a citizen, an officer and an agency admin.

tests/test_openapi.py fuzzes anonymously; here the same document meets signed-in people who
own things: a citizen with a draft and a submitted dossier, a petition, a push device and an
inbox; a receiving officer of the ward that gets the dossier; an admin of that ward. Path
parameters are drawn from those real ids part of the time, so the cases get past the 404 of
an unknown id into the handlers' rules.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass, field

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.checks import positive_data_acceptance
from schemathesis.core.parameters import ParameterLocation
from schemathesis.specs.openapi.checks import missing_required_header

from backend.extensions import db
from tests.helpers.dossiers import BIRTH_DATA
from tests.helpers.engagement import PETITION
from tests.helpers.signin import bearer
from tests.helpers.work import unit_of_work
from tests.storage.samples import png

WARD = "001.01.00.H56"
BIRTH = "1.001193"
# Operations that end the session they are called with: they get a spare session of the same
# person, so that the cases of every other operation still run signed in.
SESSION_ENDING = {("POST", "/api/v1/auth/logout"), ("DELETE", "/api/v1/me/sessions/{session_id}")}


# The test transport does not decode brotli or gzip: answers come plain (tests/test_compression.py
# covers the compressed ones).
PLAIN = {"Accept-Encoding": "identity"}

# Bounded by default, so `make test` stays quick; FUZZ=deep runs many more cases (minutes).
DEEP = os.environ.get("FUZZ") == "deep"
MAX_EXAMPLES = 25 if DEEP else 3
STATEFUL_SCENARIOS = 100 if DEEP else 25
EXCLUDED_CHECKS = [
    # An opaque cursor or a form's business rules can refuse a value the schema allows, with a
    # documented 422, which is not a bug.
    positive_data_acceptance,
    # A PATCH of a dossier without If-Match is answered 428 Precondition Required (RFC 6585),
    # documented; this check only accepts 400/401/403/406/415/422 for a missing header.
    missing_required_header,
]


@dataclass
class World:
    """What the fuzzed people own, by path parameter name: real values to draw from."""

    ids: dict[str, list[str]] = field(default_factory=dict)
    headers: dict[str, dict[str, str]] = field(default_factory=dict)
    spare: dict[str, dict[str, str]] = field(default_factory=dict)

    def add(self, name: str, *values: str | None) -> None:
        self.ids.setdefault(name, []).extend(v for v in values if v)


def _ok(response, status: int) -> dict:
    assert response.status_code == status, response.get_json()
    return response.get_json()


def _spare_session(app, tokens: dict) -> dict[str, str]:
    """A second session of the same person, with the same assurance, to be ended by the fuzzer."""
    from backend.db import utcnow
    from backend.identity.models import Session
    from backend.identity.services import sessions

    with unit_of_work(app):
        current = db.session.get(Session, tokens["session_id"])
        pair = sessions.start_session(
            account=current.account,
            acr=current.acr,
            amr=list(current.amr),
            mfa_complete=current.mfa_complete,
            device={"name": "Spare phone", "platform": "ios", "app_version": "1.0.0"},
            now=utcnow(),
        )
        db.session.commit()
        spare = {"id": pair.session_id, "access_token": pair.access_token}
    return spare


@pytest.fixture
def world(app, client, demo_catalog, citizen, make_staff) -> World:
    world = World()
    mine = bearer(citizen)
    draft = _ok(client.post("/api/v1/dossiers", json={"procedure_code": BIRTH}, headers=mine), 201)
    filed = _ok(
        client.post(
            "/api/v1/dossiers", json={"procedure_code": BIRTH, "data": BIRTH_DATA}, headers=mine
        ),
        201,
    )
    _ok(
        client.post(
            f"/api/v1/dossiers/{filed['id']}/attachments/giay_chung_sinh",
            data={"file": (io.BytesIO(png()), "chung-sinh.png")},
            content_type="multipart/form-data",
            headers=mine,
        ),
        201,
    )
    receipt = _ok(
        client.post(
            f"/api/v1/dossiers/{filed['id']}/submit",
            headers={**mine, "Idempotency-Key": "fuzz-submit-0001"},
        ),
        200,
    )
    petition = _ok(
        client.post(
            "/api/v1/feedback", json=PETITION, headers={**mine, "Idempotency-Key": "fuzz-fb-01"}
        ),
        201,
    )
    _ok(
        client.post(
            "/api/v1/me/devices",
            json={"token": "fcm-token-" + "f" * 40, "platform": "android"},
            headers=mine,
        ),
        201,
    )
    inbox = _ok(client.get("/api/v1/me/notifications", headers=mine), 200)

    officer, _ = make_staff("0911200001", agency=WARD, role="receiving_officer")
    admin, _ = make_staff("0911200002", agency=WARD, role="agency_admin")
    citizen_me = _ok(client.get("/api/v1/me", headers=mine), 200)
    officer_me = _ok(client.get("/api/v1/me", headers=bearer(officer)), 200)

    world.add("dossier_id", draft["id"], filed["id"])
    world.add("slot", "giay_chung_sinh")
    world.add("code", BIRTH, WARD, receipt.get("code"))
    world.add("feedback_id", petition["id"])
    world.add("notification_id", *(item["id"] for item in inbox["items"][:2]))
    world.add("account_id", citizen_me["id"], officer_me["id"])
    world.add("grant_id", *(grant["id"] for grant in officer_me["roles"]))
    for name, tokens in (("citizen", citizen), ("officer", officer), ("admin", admin)):
        world.headers[name] = bearer(tokens)
        spare = _spare_session(app, tokens)
        world.spare[name] = bearer(spare)
        world.add("session_id", spare["id"])
    return world


def _real_path_parameters(world: World):
    def flatmap_case(context, case):
        # A negative case keeps the bad path it was made with; otherwise each parameter keeps
        # what the fuzzer made up or takes a real id, at random.
        if not case.path_parameters or case.meta.is_negative_at(ParameterLocation.PATH):
            return st.just(case)
        drawn = {
            name: st.sampled_from([value, *world.ids[name]])
            if name in world.ids
            else st.just(value)
            for name, value in case.path_parameters.items()
        }

        def with_ids(path_parameters):
            case.path_parameters = path_parameters
            return case

        return st.fixed_dictionaries(drawn).map(with_ids)

    return flatmap_case


def _load(app, world: World):
    loaded = schemathesis.openapi.from_wsgi("/openapi.json", app)
    loaded.hook(_real_path_parameters(world))
    # Unknown query parameters and headers are ignored, on purpose: older app versions and
    # proxies add some. Extra members of a JSON body are still refused, with a 422, but the
    # switch covers every location, so bodies lose that negative case here.
    loaded.config.generation.update(allow_extra_parameters=False)
    # A PATCH whose If-Match names no current version is answered 412 before its body is read
    # (RFC 9110 13.2.2: preconditions come first), also when the fuzzer broke the body too.
    rejection = loaded.config.checks.negative_data_rejection
    rejection.expected_statuses = [*rejection.expected_statuses, "412"]
    if not DEEP:
        # The deterministic boundary cases of every operation (and methods it does not have)
        # are thousands of requests per person: FUZZ=deep runs them.
        loaded.config.phases.coverage.enabled = False
    return loaded


@pytest.fixture(params=["citizen", "officer", "admin"])
def principal(request) -> str:
    return request.param


@pytest.fixture
def fuzz_schema(app, world, principal):
    if not app.stack.postgres:
        pytest.skip("schemathesis runs on the PostgreSQL stack")
    return _load(app, world)


schema = schemathesis.pytest.from_fixture("fuzz_schema")


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_operation_as_a_signed_in_person(case, world, principal):
    operation = (case.method.upper(), case.path)
    headers = (world.spare if operation in SESSION_ENDING else world.headers)[principal]
    if case.meta.is_negative_at(ParameterLocation.HEADER) and "Authorization" in (
        case.headers or {}
    ):
        headers = {}  # the fuzzer's own bad token is the point of this case
    case.call_and_validate(headers={**headers, **PLAIN}, excluded_checks=EXCLUDED_CHECKS)


def _signed_by(world: World, path: str) -> dict[str, str]:
    """The citizen files and answers; the ward's admin works the dossier at the agency."""
    staff = path.startswith(("/api/v1/agency/", "/api/v1/admin/"))
    return {**world.headers["admin" if staff else "citizen"], **PLAIN}


def test_the_links_can_be_followed_from_draft_to_rating(app, world):
    """Stateful: a draft, its attachments and submission, the one-stop workflow, petitions."""
    if not app.stack.postgres:
        pytest.skip("schemathesis runs on the PostgreSQL stack")

    class Workflow(_load(app, world).as_state_machine()):
        # Each scenario starts from the same world, so that Hypothesis can replay and shrink
        # one: the test's transaction is rolled back to a savepoint, Redis emptied.
        def setup(self):
            with unit_of_work(app):
                self.savepoint = db.engines[None].begin_nested()

        def teardown(self):
            self.savepoint.rollback()
            redis_client = app.extensions.get("redis")
            if redis_client is not None:
                redis_client.flushdb()

        def get_call_kwargs(self, case):
            return {"headers": _signed_by(world, case.path)}

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            case.validate_response(
                response,
                additional_checks=additional_checks,
                excluded_checks=EXCLUDED_CHECKS,
                headers=_signed_by(world, case.path),
            )

    Workflow.run(
        settings=settings(
            max_examples=STATEFUL_SCENARIOS,
            stateful_step_count=10,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        )
    )
