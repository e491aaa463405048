"""Row ids: ULIDs that sort in the order they were made, even within one millisecond."""

from __future__ import annotations

import sys
from datetime import UTC, datetime

import time_machine

from backend.db import new_id


def test_ids_made_while_the_clock_stands_still_keep_their_order():
    with time_machine.travel(datetime(2026, 11, 30, 2, 0, tzinfo=UTC), tick=False):
        ids = [new_id() for _ in range(2000)]
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)
    assert all(len(i) == 26 and set(i) <= set("0123456789ABCDEFGHJKMNPQRSTVWXYZ") for i in ids)


def test_ids_keep_growing_when_the_clock_goes_back():
    later = new_id()
    with time_machine.travel(datetime(2020, 1, 1, tzinfo=UTC), tick=False):
        earlier_clock = new_id()
    assert earlier_clock > later


def test_neighbours_differ_by_more_than_one():
    with time_machine.travel(datetime(2026, 11, 30, 2, 0, tzinfo=UTC), tick=False):
        first, second = new_id(), new_id()
    decode = {c: i for i, c in enumerate("0123456789ABCDEFGHJKMNPQRSTVWXYZ")}

    def number(text):
        value = 0
        for char in text:
            value = value * 32 + decode[char]
        return value

    assert number(second) > number(first)
    # Not a counter: the step is random, so a neighbour's id does not give this one away.
    assert number(second) - number(first) != 1 or number(new_id()) - number(second) != 1


def test_an_id_spells_its_millisecond_and_randomness_in_crockford_base32(monkeypatch):
    # An earlier id of this process would be later than the moment: it is forgotten meanwhile.
    monkeypatch.setattr(sys.modules["backend.db"], "_last_id", 0)
    moment = datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)
    with time_machine.travel(moment, tick=False):
        made = new_id()
    decode = {c: i for i, c in enumerate("0123456789ABCDEFGHJKMNPQRSTVWXYZ")}
    value = 0
    for char in made:
        value = value * 32 + decode[char]
    assert value < 2**128  # the first character holds only the top three bits
    assert value >> 80 == int(moment.timestamp() * 1000)
