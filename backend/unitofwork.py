"""One transaction per request, per CLI command and per worker job, committed here and only here.

Services add, change and flush; they never commit. A request's work commits once, after the
view has answered and before the answer leaves (``_finish``):

- an answer below 400 commits everything the request wrote (a request that only read has
  nothing to commit);
- a refusal (4xx) keeps nothing: the session's end rolls it back, unless the refusal itself must
  be remembered: a wrong code counts toward the lockout, a spent challenge stays spent, a
  refused sign-in is a security event. The service that records such a thing calls
  ``keep_despite_refusal()`` right before it raises, and the request's writes then commit with
  the refusal;
- a 5xx keeps nothing.

A commit that fails (the database went away under it) turns the answer into the problem an error
in the view would have become (``errors.handle_unexpected``, a 503 for a lost database): no
client is told "done" about work that did not commit.

``backend.idempotency`` wraps a view inside this transaction: the claimed key, the work and the
stored answer commit here together. CLI commands run in ``transaction()`` (``CommandGroup``);
the notification worker's jobs and the sweeps commit per batch of rows they took
(``backend.notifications.delivery``, ``sweeps``, ``digests``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import ParamSpec, TypeVar

import sqlalchemy as sa
from flask import Flask, Response, current_app, g, has_app_context, has_request_context, request
from flask.cli import AppGroup
from flask_sqlalchemy.session import Session as FlaskSession
from sqlalchemy import event
from sqlalchemy.orm import MANYTOONE, Mapper, ORMExecuteState, Session
from sqlalchemy.orm.exc import StaleDataError

from backend import errors
from backend.extensions import READ_CONNECTION, db

log = logging.getLogger(__name__)

# Set on a session once its transaction has sent a write (a flush, an UPDATE or DELETE).
_WROTE = "dvc.wrote"

P = ParamSpec("P")
R = TypeVar("R")


def reads_only(view):
    """Mark a view that only reads (a poll, a list, a search): on PostgreSQL its statements run
    outside a transaction, without the BEGIN and the closing ROLLBACK (two round trips of the
    four a two-query read costs), on a connection the request takes from the pool for itself
    (``extensions.connection()``); an ORM session is made only if the view asks for objects,
    and runs on that connection. A write from it is a programming error, refused before it
    is sent. Put it under the route's other decorators."""
    view._reads_only = True
    return view


def _begin() -> None:
    view = current_app.view_functions.get(request.endpoint or "")
    if not getattr(view, "_reads_only", False):
        return
    g.reads_only = True
    bind = db.engines[None]
    # A bind that is already a connection belongs to a caller's transaction (the test suite's).
    if bind.dialect.name == "postgresql" and isinstance(bind, sa.Engine):
        read = bind.connect()
        setattr(g, READ_CONNECTION, read)  # kept first: the request's end returns it whatever comes
        # psycopg's own switch, not SQLAlchemy's isolation level, whose setting and resetting
        # cost a read about 60 Python calls; the pool switches it back on the connection's
        # return (extensions.transactional_on_return).
        read.connection.dbapi_connection.autocommit = True


class WriteInReadOnlyView(RuntimeError):
    """A view marked ``reads_only`` tried to write."""


def _refuse_writes(session: Session, *_args) -> None:
    if has_request_context() and g.get("reads_only", False):
        raise WriteInReadOnlyView(request.endpoint)


def keep_despite_refusal() -> None:
    """What this request wrote so far commits although its answer will be a refusal.

    Call it right before raising the refusal that the writes record.
    """
    g.keep_despite_refusal = True


def kept_despite_refusal() -> bool:
    return has_app_context() and g.get("keep_despite_refusal", False)


def if_rolled_back(undo: Callable[[], object]) -> None:
    """Run ``undo`` if this unit of work does not commit: a stored file whose row went away."""
    g.setdefault("undo_if_rolled_back", []).append(undo)


def _rolled_back() -> None:
    try:
        db.session.rollback()
    finally:
        _undo()


def _undo() -> None:
    for undo in g.pop("undo_if_rolled_back", []):
        try:
            undo()
        except Exception:
            log.warning("undoing a rolled-back write failed", exc_info=True)


def _committed() -> None:
    db.session.commit()
    g.pop("undo_if_rolled_back", None)


@contextmanager
def transaction() -> Iterator[None]:
    """A CLI command's or a job's unit of work: commit when the block ends, roll back on error."""
    try:
        yield
    except BaseException:
        _rolled_back()
        raise
    try:
        _committed()
    except BaseException:
        _rolled_back()
        raise


def transactional(function: Callable[P, R]) -> Callable[P, R]:
    """``transaction()`` around a whole command or job."""

    @wraps(function)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        with transaction():
            return function(*args, **kwargs)

    return run


# One UPDATE for each model and set of changed attributes ``write_now`` met, built once.
_UPDATES: dict[tuple[Mapper, frozenset[str]], tuple[sa.Update, tuple[str, ...]] | None] = {}
_UNKNOWN = object()  # not yet looked at


def write_now(obj: object) -> None:
    """Write what changed on ``obj`` now: by one UPDATE of its primary key when the change is
    only its own columns, else (a new object, a collection changed, a column that sets itself
    on update left out) by a flush. Either way the object is then clean.

    For a row whose change is only its own columns (a dossier's step), a flush first sorts
    every changed object's relationships into an order of work: about 1,100 Python calls of a
    dossier's submission against some 250 for the statement. A many-to-one link may change
    with its column (``procedure_version`` with ``procedure_version_id``). The row must still
    be there (the caller holds its lock): an UPDATE that finds none raises as a flush would.
    """
    state = sa.inspect(obj)
    changed = frozenset(state.committed_state)
    if state.key is None:
        db.session.flush()
        return
    if not changed:
        return
    built = _UPDATES.get((state.mapper, changed), _UNKNOWN)
    if built is _UNKNOWN:
        built = _UPDATES[state.mapper, changed] = _update_of(state.mapper, changed)
    if built is None:
        db.session.flush()
        return
    statement, columns = built
    values = {f"new_{key}": state.dict[key] for key in columns}
    values.update(zip(_PRIMARY_KEYS, state.identity, strict=False))
    if db.session.execute(statement, values).rowcount != 1:
        raise StaleDataError(f"{state.mapper.local_table.name} {state.identity} is gone")
    # What the unit of work does to an object it has just written (SQLAlchemy 2.0's own;
    # tests/test_write_now.py notices if it goes): its values are its row's, nothing pending.
    state._commit_all(state.dict, db.session.identity_map)


_PRIMARY_KEYS = tuple(f"key_{number}" for number in range(4))


def _update_of(mapper: Mapper, changed: frozenset[str]) -> tuple[sa.Update, tuple[str, ...]] | None:
    """The UPDATE that says ``changed`` and its columns, or None when one cannot."""
    columns = tuple(sorted(key for key in changed if key in mapper.column_attrs))
    for key in changed.difference(columns):
        link = mapper.relationships.get(key)
        if link is None or link.direction is not MANYTOONE:
            return None  # a collection
        if {column.key for column in link.local_columns}.difference(columns):
            return None  # the link's column is left to the flush to set
    table = mapper.local_table
    # A column that changes by itself on every UPDATE must be given, or the object would not
    # know its row.
    if any(c.onupdate is not None and c.key not in columns for c in table.columns):
        return None
    keys = zip(mapper.primary_key, _PRIMARY_KEYS, strict=False)
    values = {mapper.column_attrs[key].columns[0]: sa.bindparam(f"new_{key}") for key in columns}
    statement = (
        sa.update(table)
        .where(*(column == sa.bindparam(name) for column, name in keys))
        .values(values)
    )
    return statement, columns


class CommandGroup(AppGroup):
    """A group of ``flask`` commands, each one unit of work (``transaction()``)."""

    def command(self, *args, **kwargs):
        register = super().command(*args, **kwargs)
        return lambda function: register(transactional(function))


def _finish(response: Response) -> Response:
    status = response.status_code
    if status >= 500 or (status >= 400 and not kept_despite_refusal()):
        _undo()  # the session's end (the app context's teardown) rolls the writes back
        return response
    if not db.session.registry.has() or not _wrote(db.session()):
        return response  # a read: nothing to commit; the session's end closes the transaction
    try:
        _committed()
    except Exception as error:  # the database went away: the answer must not say "done"
        try:
            _rolled_back()
        except Exception:
            log.debug("rollback after a failed commit failed too")
        return errors.handle_unexpected(error)
    return response


def _wrote(session: Session) -> bool:
    return bool(session.new or session.dirty or session.deleted or session.info.get(_WROTE))


def _note_flush(session: Session, _context) -> None:
    session.info[_WROTE] = True


def _note_statement(state: ORMExecuteState) -> None:
    if state.is_insert or state.is_update or state.is_delete:
        _refuse_writes(state.session)
        state.session.info[_WROTE] = True


def _forget_writes(session: Session, *_args) -> None:
    if not session.in_transaction():
        session.info.pop(_WROTE, None)


def init_app(app: Flask) -> None:
    """Registered last, so that it runs before every other after-request hook (Flask runs them
    in reverse): the answer is compressed, logged and timed as it finally is."""
    app.after_request(_finish)
    # First of the before-request hooks: before anyone's first statement (the session check).
    app.before_request_funcs.setdefault(None, []).insert(0, _begin)
    if not event.contains(FlaskSession, "after_flush", _note_flush):
        event.listen(FlaskSession, "before_flush", _refuse_writes)
        event.listen(FlaskSession, "after_flush", _note_flush)
        event.listen(FlaskSession, "do_orm_execute", _note_statement)
        event.listen(FlaskSession, "after_commit", _forget_writes)
        event.listen(FlaskSession, "after_rollback", _forget_writes)
