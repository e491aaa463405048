"""Helpers for the working-day tests: moments written the way a Vietnamese office reads them."""

from datetime import datetime, timedelta, timezone

# Written out, not taken from the code under test: Vietnam is UTC+7 all year round.
VIETNAM = timezone(timedelta(hours=7), "ICT")


def vn(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """A wall-clock moment in Vietnam."""
    return datetime(year, month, day, hour, minute, tzinfo=VIETNAM)
