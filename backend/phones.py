"""Phone numbers in one shape, E.164, whatever way a Vietnamese user typed them."""

from __future__ import annotations

import phonenumbers


class InvalidPhone(ValueError):
    pass


def to_e164(raw: str, region: str = "VN") -> str:
    """``"0912 345 678"``, ``"84912345678"`` and ``"+84912345678"`` -> ``"+84912345678"``."""
    text = raw.strip()
    if len(text) > 32:
        raise InvalidPhone("too long")
    if text.startswith("84") and not text.startswith("+"):
        text = "+" + text
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as error:
        raise InvalidPhone(str(error)) from error
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhone("not a valid number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def mask(e164: str) -> str:
    """``+84912345678`` -> ``+84*******678``: enough for the owner to recognise it."""
    return e164[:3] + "*" * (len(e164) - 6) + e164[-3:]
