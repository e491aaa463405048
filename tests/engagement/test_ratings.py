"""One rating per finished dossier, by its citizen, within the window; levels by rule."""

from __future__ import annotations

from datetime import timedelta

import pytest

from backend.dossiers.models import Dossier
from backend.engagement.models import SatisfactionLevel
from backend.engagement.services.ratings import level_of
from backend.extensions import db
from tests.helpers.dossiers import officer_post
from tests.helpers.work import unit_of_work

ANSWERS = {"time": 5, "staff_attitude": 4, "clarity": 4, "online_ease": 3, "comment": "Nhanh"}


@pytest.fixture
def finished(filing, client, receiver) -> str:
    """A dossier refused at the desk: finished, so it can be rated."""
    receipt = filing.filed()
    refused = officer_post(client, receiver, receipt["id"], "refuse", {"reason": "Thiếu giấy tờ"})
    assert refused.status_code == 200
    return receipt["id"]


def rate(client, filing, dossier_id, body=None, key=None):
    headers = {**filing.headers, "Idempotency-Key": key} if key else filing.headers
    return client.post(
        f"/api/v1/dossiers/{dossier_id}/rating", json=body or ANSWERS, headers=headers
    )


def test_a_finished_dossier_is_rated_once(finished, filing, client):
    rated = rate(client, filing, finished)

    assert rated.status_code == 201, rated.get_json()
    assert rated.get_json()["average"] == 4.0 and rated.get_json()["level"] == "satisfied"
    mine = client.get(f"/api/v1/dossiers/{finished}/rating", headers=filing.headers)
    assert mine.status_code == 200 and mine.get_json()["comment"] == "Nhanh"
    again = rate(client, filing, finished, {**ANSWERS, "time": 1})
    assert again.status_code == 409
    assert again.get_json()["type"].endswith("dossier-already-rated")


def test_a_retry_with_the_same_key_gives_the_same_rating(finished, filing, client):
    first = rate(client, filing, finished, key="rating-key-00001")
    again = rate(client, filing, finished, key="rating-key-00001")

    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json() == first.get_json()


def test_someone_elses_dossier_is_404(finished, filing_b, client):
    assert rate(client, filing_b, finished).status_code == 404
    assert (
        client.get(f"/api/v1/dossiers/{finished}/rating", headers=filing_b.headers).status_code
        == 404
    )


def test_an_unfinished_dossier_is_409(filing, client):
    receipt = filing.filed()
    response = rate(client, filing, receipt["id"])
    assert response.status_code == 409 and response.get_json()["current_status"] == "submitted"


@pytest.mark.parametrize(
    "change",
    [{"time": 0}, {"clarity": 6}, {"online_ease": None}, {"staff_attitude": "5"}, {"time": 4.5}],
)
def test_answers_out_of_range_are_422(finished, filing, client, change):
    response = rate(client, filing, finished, {**ANSWERS, **change})
    assert response.status_code == 422


def test_a_missing_answer_is_422(finished, filing, client):
    body = {k: v for k, v in ANSWERS.items() if k != "clarity"}
    assert rate(client, filing, finished, body).status_code == 422


def test_the_window_closes(finished, filing, client, app):
    window = app.config["RATING_WINDOW_DAYS"]
    with unit_of_work(app):
        dossier = db.session.get(Dossier, finished)
        dossier.finished_at -= timedelta(days=window, seconds=1)
        db.session.commit()

    response = rate(client, filing, finished)
    assert response.status_code == 409
    assert response.get_json()["type"].endswith("rating-window-closed")


def test_the_window_is_open_until_its_last_moment(finished, filing, client, app):
    window = app.config["RATING_WINDOW_DAYS"]
    with unit_of_work(app):
        dossier = db.session.get(Dossier, finished)
        dossier.finished_at -= timedelta(days=window)
        db.session.commit()
    assert rate(client, filing, finished).status_code == 201


@pytest.mark.parametrize(
    ("total", "level"),
    [
        (20, SatisfactionLevel.SATISFIED),
        (16, SatisfactionLevel.SATISFIED),  # average 4.0
        (15, SatisfactionLevel.NEUTRAL),  # average 3.75
        (12, SatisfactionLevel.NEUTRAL),  # average 3.0
        (11, SatisfactionLevel.DISSATISFIED),  # average 2.75
        (4, SatisfactionLevel.DISSATISFIED),
    ],
)
def test_levels_follow_the_average(total, level):
    assert level_of(total) is level
