"""The two languages the API answers in: Vietnamese (default) and English."""

from __future__ import annotations

from contextvars import ContextVar

from flask import Flask, has_request_context, request

LANGUAGES = ("vi", "en")
DEFAULT_LANGUAGE = "vi"

# Text in both languages, Vietnamese first.
Text = tuple[str, str]


# The request's language once chosen; forgotten when the request ends (``init_app``).
_LANGUAGE: ContextVar[str | None] = ContextVar("dvc_language", default=None)


def current_language() -> str:
    """The request's language, chosen once per request: a list asks for every item's label,
    and each look through Flask's request proxy costs a few calls."""
    language = _LANGUAGE.get()
    if language is None:
        if not has_request_context():
            return DEFAULT_LANGUAGE
        language = request.accept_languages.best_match(LANGUAGES, default=DEFAULT_LANGUAGE)
        _LANGUAGE.set(language)
    return language


def _forget_language(_error: BaseException | None = None) -> None:
    _LANGUAGE.set(None)


def init_app(app: Flask) -> None:
    # At the end of each request, not of the app context: in tests one app context may
    # outlive many requests in other languages.
    app.teardown_request(_forget_language)


def pick(text: Text | str, language: str | None = None) -> str:
    if isinstance(text, str):
        return text
    language = language or current_language()
    return text[LANGUAGES.index(language)] if language in LANGUAGES else text[0]


# marshmallow and webargs speak English; these are the messages a citizen meets most often.
_FIELD_MESSAGES_VI = {
    "Missing data for required field.": "Trường này là bắt buộc.",
    "Unknown field.": "Trường này không được hỗ trợ.",
    "Field may not be null.": "Trường này không được để trống.",
    "Not a valid string.": "Giá trị phải là chuỗi ký tự.",
    "Not a valid integer.": "Giá trị phải là số nguyên.",
    "Not a valid number.": "Giá trị phải là số.",
    "Not a valid boolean.": "Giá trị phải là đúng hoặc sai.",
    "Not a valid date.": "Ngày không hợp lệ (định dạng YYYY-MM-DD).",
    "Not a valid datetime.": "Thời điểm không hợp lệ (định dạng RFC 3339).",
    "Not a valid list.": "Giá trị phải là một danh sách.",
    "Invalid input type.": "Kiểu dữ liệu không hợp lệ.",
    "Invalid value.": "Giá trị không hợp lệ.",
    "Must be one of the allowed values.": "Giá trị không nằm trong danh sách cho phép.",
    "Shorter than minimum length 1.": "Không được để trống.",
    "Invalid JSON body.": "Nội dung JSON không hợp lệ.",
    "Not a valid phone number.": "Số điện thoại không hợp lệ.",
    "A national ID number has 12 digits.": "Số định danh cá nhân gồm 12 chữ số.",
}


def translate_field_message(message: str, language: str | None = None) -> str:
    if (language or current_language()) != "vi":
        return message
    return _FIELD_MESSAGES_VI.get(message, message)
