"""The citizen journey through a Python client generated from the committed openapi.yaml.

`openapi-python-client` generates the client as an app team would, and must log no warning;
the journey then goes through the generated functions only, against the app served on
loopback. A contract regression (an operation renamed, a header or a type gone, a response
not declared) breaks the generation, the import or the walk.
"""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
import uuid
from pathlib import Path

import httpx
import pytest

from tests.clients import journey
from tests.helpers.signin import outbox_lines
from tests.helpers.stacks import ROOT
from tests.providers.oidc_provider import serving

pytestmark = [pytest.mark.postgres_only, pytest.mark.committing]

PACKAGE = "dvc_client"


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    """Generate the client into a temporary folder; yields the imported package."""
    folder = tmp_path_factory.mktemp("python-client")
    venv_bin = Path(sys.executable).parent
    ran = subprocess.run(
        [
            str(venv_bin / "openapi-python-client"),
            "generate",
            "--path",
            str(ROOT / "openapi.yaml"),
            "--meta",
            "none",
            "--output-path",
            str(folder / PACKAGE),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        # The generator formats its output with ruff, which lives beside it.
        env={**os.environ, "PATH": f"{venv_bin}{os.pathsep}{os.environ.get('PATH', '')}"},
    )
    output = ran.stdout + ran.stderr
    assert ran.returncode == 0, output
    assert "warning" not in output.lower(), output
    sys.path.insert(0, str(folder))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(folder))
        for name in [m for m in sys.modules if m == PACKAGE or m.startswith(PACKAGE + ".")]:
            del sys.modules[name]


def test_the_generator_names_every_operation_by_its_id(generated):
    """Each operationId becomes a module the app team calls: no name made up from a path."""
    document = _document()
    expected = {
        (_snake(op["tags"][0]), _snake(op["operationId"]))
        for item in document["paths"].values()
        for method, op in item.items()
        if method != "parameters"
    }
    api = Path(generated.__file__).parent / "api"
    made = {(p.parent.name, p.stem) for p in api.glob("*/*.py") if p.stem != "__init__"}
    assert made == expected


def test_the_citizen_journey_through_the_generated_python_client(app, demo_catalog, generated):
    # The package exists only once the fixture has generated it.
    from dvc_client import AuthenticatedClient, Client, models
    from dvc_client.api.auth import request_phone_code, verify_phone_code
    from dvc_client.api.catalog import get_procedure, search_procedures
    from dvc_client.api.dossiers import (
        create_dossier,
        get_dossier,
        list_my_dossiers,
        submit_dossier,
        upload_attachment,
    )
    from dvc_client.types import File

    figures = journey.Figures()

    def seen(response: httpx.Response) -> None:
        response.read()
        figures.exchanges.append(
            journey.Exchange(
                method=response.request.method,
                path=response.request.url.path,
                status=response.status_code,
                content_type=response.headers.get("content-type", ""),
                body_bytes=len(response.content),
                wire_bytes=response.num_bytes_downloaded,
                head_bytes=journey.head_bytes(
                    f"HTTP/1.1 {response.status_code} {response.reason_phrase}",
                    [(k.decode(), v.decode()) for k, v in response.headers.raw],
                ),
            )
        )

    hooks = {"event_hooks": {"response": [seen]}}
    with serving(app) as base:
        public = Client(base_url=base, raise_on_unexpected_status=True, httpx_args=hooks)

        sent = request_phone_code.sync(client=public, body=models.OtpRequest(phone=journey.PHONE))
        assert isinstance(sent, models.OtpChallenge), sent
        code = next(
            journey.code_in(line["text"])
            for line in reversed(outbox_lines(app))
            if line["to"] == journey.PHONE_E164
        )
        tokens = verify_phone_code.sync(
            client=public,
            body=models.OtpVerify(
                challenge_id=sent.challenge_id,
                code=code,
                device=models.Device(
                    name="Điện thoại của Lan",
                    platform=models.DevicePlatform.ANDROID,
                    app_version="1.0.0",
                ),
            ),
        )
        assert isinstance(tokens, models.Token), tokens

        found = search_procedures.sync(client=public, q=journey.SEARCH)
        assert journey.PROCEDURE in [item.code for item in found.items]
        procedure = get_procedure.sync(client=public, code=journey.PROCEDURE)
        assert journey.SLOT in [document.code for document in procedure.documents]

        citizen = AuthenticatedClient(
            base_url=base,
            token=tokens.access_token,
            raise_on_unexpected_status=True,
            httpx_args=hooks,
        )
        created = create_dossier.sync_detailed(
            client=citizen,
            body=models.DossierCreate(
                procedure_code=journey.PROCEDURE,
                data=models.DossierCreateData.from_dict(journey.DATA),
            ),
        )
        draft = created.parsed
        assert isinstance(draft, models.Dossier), created.content
        assert created.headers["ETag"] and created.headers["Location"].endswith(draft.id)
        attached = upload_attachment.sync(
            dossier_id=draft.id,
            slot=journey.SLOT,
            client=citizen,
            body=models.SlotFile(
                file=File(
                    payload=journey.SAMPLE.open("rb"),
                    file_name=journey.SAMPLE.name,
                    mime_type="image/jpeg",
                )
            ),
        )
        assert isinstance(attached, models.Attachment), attached
        receipt = submit_dossier.sync(
            dossier_id=draft.id, client=citizen, idempotency_key=str(uuid.uuid4())
        )
        assert isinstance(receipt, models.Receipt), receipt
        mine = list_my_dossiers.sync(client=citizen)
        assert [item.code for item in mine.items] == [receipt.code]
        detail = get_dossier.sync_detailed(dossier_id=draft.id, client=citizen)
        assert isinstance(detail.parsed, models.Dossier), detail.content
        assert detail.parsed.status == models.DossierStatus.SUBMITTED
        unchanged = get_dossier.sync_detailed(
            dossier_id=draft.id, client=citizen, if_none_match=detail.headers["ETag"]
        )
        assert unchanged.status_code == 304 and unchanged.content == b""

    figures.check()
    journey.report(figures, "Python")


def _document() -> dict:
    import yaml

    return yaml.safe_load((ROOT / "openapi.yaml").read_text(encoding="utf-8"))


def _snake(name: str) -> str:
    out = []
    for i, char in enumerate(name):
        if char.isupper() and i and (name[i - 1].islower() or name[i - 1].isdigit()):
            out.append("_")
        out.append(char.lower())
    return "".join(out).replace(" ", "_").replace("-", "_")
