"""Phone numbers in one shape, E.164, whatever way a Vietnamese user typed them."""

from __future__ import annotations

import re

import marshmallow as ma
import phonenumbers

_TYPED = re.compile(r"^[0-9 ()+.-]+$")


class InvalidPhone(ValueError):
    pass


def to_e164(raw: str, region: str = "VN") -> str:
    """``"0912 345 678"``, ``"84912345678"`` and ``"+84912345678"`` -> ``"+84912345678"``."""
    text = raw.strip()
    if len(text) > 32:
        raise InvalidPhone("too long")
    if not _TYPED.match(text):
        raise InvalidPhone("only digits, spaces, +, -, ( ) and . are allowed")
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


class PhoneField(ma.fields.String):
    """A phone number as typed, loaded as E.164."""

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            return to_e164(text)
        except InvalidPhone as error:
            raise ma.ValidationError("Not a valid phone number.") from error
