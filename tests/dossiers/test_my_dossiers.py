"""A citizen's list of their dossiers: newest change first, filtered, paged, theirs only."""

from __future__ import annotations

from datetime import timedelta


def _list(client, filing, query: str = "") -> dict:
    answer = client.get(f"/api/v1/dossiers{query}", headers=filing.headers)
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()


def _ids(page: dict) -> list[str]:
    return [item["id"] for item in page["items"]]


def _dossiers(filing, filing_b, clock) -> list[str]:
    """Four of mine, oldest change first (one submitted), and one of another citizen's."""
    made = []
    for number in range(4):
        if number == 2:
            made.append(filing.filed()["id"])
        else:
            made.append(filing.draft().get_json()["id"])
        clock.shift(timedelta(minutes=1))
    assert filing_b.draft().status_code == 201
    return made


def test_my_dossiers_page_newest_change_first_and_never_anothers(client, filing, filing_b, clock):
    made = _dossiers(filing, filing_b, clock)

    first = _list(client, filing, "?limit=3")
    second = _list(client, filing, f"?limit=3&cursor={first['next_cursor']}")

    assert _ids(first) == made[::-1][:3]
    assert _ids(second) == made[::-1][3:] and second["next_cursor"] is None
    assert _ids(_list(client, filing)) == made[::-1]


def test_a_status_and_a_sync_time_narrow_the_list_and_its_pages(client, filing, filing_b, clock):
    made = _dossiers(filing, filing_b, clock)
    since = "2026-11-30T02:01:30Z"  # the clock starts at 02:00; a dossier a minute

    drafts = _list(client, filing, "?status=draft&limit=2")
    rest = _list(client, filing, f"?status=draft&limit=2&cursor={drafts['next_cursor']}")
    changed = _list(client, filing, f"?updated_since={since}")
    changed_drafts = _list(client, filing, f"?updated_since={since}&status=draft")

    assert _ids(drafts) + _ids(rest) == [made[3], made[1], made[0]]
    assert _ids(_list(client, filing, "?status=submitted")) == [made[2]]
    assert _ids(changed) == [made[3], made[2]]
    assert _ids(changed_drafts) == [made[3]]
