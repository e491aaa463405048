"""What every request passes before a view sees it: media type, size and well-formed input."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from http import HTTPStatus
from inspect import CO_COROUTINE
from types import FunctionType, MethodType
from typing import Any

import flask_smorest
import marshmallow as ma
import sqlalchemy as sa
from flask import Flask, current_app, g, has_request_context, request, url_for
from flask.sessions import SessionInterface
from webargs import core
from webargs.flaskparser import FlaskParser, is_json_request
from werkzeug.exceptions import RequestEntityTooLarge

from backend import dumping
from backend.errors import ValidationFailed, not_modified, problem_response
from backend.parsing import Unparsable, check_text

JSON_TYPES = frozenset({"application/json"})
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
MAX_JSON_DEPTH = 20
# RFC 8259 whitespace; bytes.strip() would also drop \x0b and \x0c, which make a body
# malformed JSON, not an empty one.
JSON_WHITESPACE = b" \t\n\r"


class _RejectedJson(ValueError):
    pass


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _RejectedJson("numbers must be finite")
    return value


def _reject_constant(name: str) -> Any:
    raise _RejectedJson(f"{name} is not allowed")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """An object, refused when a name repeats: a proxy that reads the first of two and a
    reader that keeps the last would act on different requests (RFC 7493 I-JSON, 2.3)."""
    value = dict(pairs)
    if len(value) != len(pairs):
        raise _RejectedJson("duplicate member names")
    return value


def _check_tree(value: Any, depth: int = 0) -> None:
    """Refuse what the database or the code behind cannot take: NUL, lone surrogates, depth."""
    if depth > MAX_JSON_DEPTH:
        raise _RejectedJson("too deeply nested")
    if isinstance(value, str):
        try:
            check_text(value, max_length=len(value))  # the body's own limit bounds the length
        except Unparsable as error:
            raise _RejectedJson(str(error)) from error
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_tree(key, depth + 1)
            _check_tree(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            _check_tree(item, depth + 1)


def parse_json_body(raw: bytes) -> Any:
    if not raw.strip(JSON_WHITESPACE):
        raise json.JSONDecodeError("empty body", "", 0)  # webargs reads this as "no body"
    try:
        value = json.loads(
            raw.decode("utf-8"),
            parse_float=_finite_float,
            parse_constant=_reject_constant,
            object_pairs_hook=_unique_keys,
        )
        _check_tree(value)
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        # JSONDecodeError is a ValueError; so are over-long integers and our own refusals.
        raise json.JSONDecodeError(str(error), "<body>", 0) from error
    return value


# Where a request keeps its body as parsed (or the parser's refusal), in its WSGI environ.
_PARSED = "dvc.parsed_json"


def request_json() -> Any:
    """``parse_json_body`` of this request's body, parsed once however many read it: a rate
    limit's key, the idempotency fingerprint and the view's arguments (about 90 Python calls
    each for a sign-in's small body). The value is shared: read it, do not change it."""
    environ = request.environ
    parsed = environ.get(_PARSED)
    if parsed is None:
        try:
            parsed = environ[_PARSED] = (parse_json_body(request.get_data(cache=True)), None)
        except json.JSONDecodeError as error:
            parsed = environ[_PARSED] = (None, error)
    value, refusal = parsed
    if refusal is not None:
        raise refusal
    return value


def json_body_or_none() -> Any:
    """The request's JSON read the hardened way, or None when it is absent or refused.

    For code that looks at the body before the view's arguments do (rate-limit keys,
    idempotency fingerprints): the arguments parser gives the refusal its proper 400 later.
    """
    if not request.is_json:
        return None
    try:
        return request_json()
    except json.JSONDecodeError:
        return None


class NulInQuery(ValidationFailed):
    code = "nul-character"


FORM = "application/x-www-form-urlencoded"


class SafeParser(FlaskParser):
    """JSON parsing that refuses what would hurt later; form bodies where a view takes them.

    A view marked ``@body_accepts(..., FORM)`` (an OAuth token endpoint) reads its "json"
    arguments from a form body too, with the same schema.
    """

    def load_querystring(self, req, schema):
        args = req.args  # once: ``req`` is Flask's proxy
        for field_name, field in schema.fields.items():
            key = field.data_key or field_name
            if any("\x00" in value for value in args.getlist(key)):
                raise NulInQuery(errors={key: ["NUL characters are not allowed."]})
        return super().load_querystring(req, schema)

    def _raw_load_json(self, req):
        if req.mimetype == FORM and FORM in _accepted_types():
            return req.form.to_dict()
        if not is_json_request(req):
            return core.missing
        raw = req.get_data(cache=True)
        limit = req.max_content_length
        if req.content_length is None and limit is not None and len(raw) >= limit:
            # A streamed (chunked) body is cut at the limit rather than refused; refuse it here.
            raise RequestEntityTooLarge()
        return request_json()


class Blueprint(flask_smorest.Blueprint):
    """The project's blueprint: flask-smorest with the hardened JSON parser."""

    ARGUMENTS_PARSER = SafeParser()

    def refusals(self, *statuses: int):
        """Document the problems an operation may answer besides its own (403, 409, ...)."""

        def decorate(view):
            for status in reversed(statuses):  # as the same alt_response lines stacked would
                view = self.alt_response(status, response=HTTPStatus(status).name)(view)
            return view

        return decorate

    def arguments(self, schema, *args, **kwargs):
        """flask-smorest's, with a schema class made an instance once: webargs would make a new
        one, deep copies of its fields included, on every request."""
        return super().arguments(schema() if isinstance(schema, type) else schema, *args, **kwargs)

    def _check_not_modified(self, etag):
        g.not_modified_etag = etag  # a 304 repeats the ETag it confirms (RFC 9110 15.4.5)
        super()._check_not_modified(etag)

    def unchanged(self, etag_data):
        """The 304 that ``set_etag(etag_data)`` would raise, returned instead: for a request
        answered before its view runs (``identity.access.read_with_session_check``). None when
        the client's copy is stale, or the method is not a read."""
        if not self._is_etag_enabled() or request.method not in self.METHODS_CHECKING_NOT_MODIFIED:
            return None
        etag = self._generate_etag(etag_data)
        return not_modified(etag) if etag in request.if_none_match else None


class Schema(dumping.PlannedDump, ma.Schema):
    """marshmallow's schema, reading an object's attributes the short way, dumping by a plan
    (``backend.dumping``).

    marshmallow's accessor tries ``obj[name]`` before ``getattr`` on whatever it is given and
    looks for dotted names, two calls of its own for every field it dumps; a list of twenty
    dossiers dumps some two hundred fields. An object without ``__getitem__`` (an ORM row, a
    dataclass) and a plain SQL row are read with ``getattr``, a dict by key, anything else as
    marshmallow would.
    """

    def get_attribute(self, obj: Any, attr: str, default: Any):
        if "." in attr:
            return super().get_attribute(obj, attr, default)
        if type(obj) is dict:
            return obj[attr] if attr in obj else getattr(obj, attr, default)
        if type(obj) is sa.Row:  # a plain row (a list's summary): its columns by name
            return getattr(obj, attr, default)
        if hasattr(obj, "__getitem__"):
            return super().get_attribute(obj, attr, default)
        return getattr(obj, attr, default)


class _NoCookieSession(SessionInterface):
    """The API keeps no state in cookies: ``flask.session`` is Flask's null session, which
    refuses writes. The default interface would build a signing serializer on every request
    to read a cookie no client sends."""

    def open_session(self, app, request):
        return None  # Flask then makes its null session

    def save_session(self, app, session, response):  # pragma: no cover - never called
        return None  # Flask skips saving a null session


_PLAIN = (FunctionType, MethodType)


class App(Flask):
    """Flask as this API runs it: no cookie session, and no coroutine check per hook call.

    Flask asks ``inspect`` whether each hook and view is a coroutine, on every call: about
    twenty times a request. A plain function answers from its code flags.
    """

    session_interface = _NoCookieSession()

    def ensure_sync(self, func):
        if type(func) in _PLAIN and not func.__code__.co_flags & CO_COROUTINE:
            return func
        return super().ensure_sync(func)


@dataclass(frozen=True)
class Caller:
    """Where a request came from, for the audit columns of what it writes."""

    ip: str | None = None
    user_agent: str | None = None


def caller() -> Caller:
    """The one place services learn who is on the other end; nobody outside a request."""
    if not has_request_context():
        return Caller()
    return Caller(request.remote_addr, (request.user_agent.string or "")[:300] or None)


def created(resource: Any, endpoint: str, **values: str) -> tuple[Any, dict[str, str]]:
    """A 201's body, with the Location of what was created (RFC 9110 10.2.2).

    The app reads a new resource there without building its URL; the route declares it with
    ``headers=LOCATION`` on its 201.
    """
    return resource, {"Location": url_for(endpoint, **values)}


def body_accepts(*mimetypes: str):
    """Mark a view as accepting request bodies of these media types (default: JSON only)."""

    def decorator(view):
        view._accepts = frozenset(mimetypes)
        return view

    return decorator


def _accepted_types() -> frozenset[str]:
    view = current_app.view_functions.get(request.endpoint or "")
    return getattr(view, "_accepts", JSON_TYPES)


def _has_body() -> bool:
    return (
        bool(request.content_length)
        or "chunked" in request.headers.get("Transfer-Encoding", "").lower()
    )


def _guard_request():
    incoming = request._get_current_object()  # each look through the proxy costs calls
    if "\x00" in incoming.path:
        return problem_response(404)  # no resource is named with a NUL
    if incoming.routing_exception is not None:
        return None  # 404 / 405 come first
    if incoming.method not in _BODY_METHODS or not _has_body():
        return None
    accepted = _accepted_types()
    if request.mimetype not in accepted:
        return problem_response(
            415,
            detail=(
                f"Content-Type phải là một trong: {', '.join(sorted(accepted))}.",
                f"Content-Type must be one of: {', '.join(sorted(accepted))}.",
            ),
            headers={"Accept-Post": ", ".join(sorted(accepted))},
        )
    if request.mimetype in JSON_TYPES:
        # Werkzeug enforces it while reading, chunked bodies included, with a 413.
        request.max_content_length = current_app.config["MAX_JSON_BYTES"]
    return None


def init_app(app: Flask) -> None:
    app.before_request(_guard_request)
