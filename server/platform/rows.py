"""ORM rows made without a query: copies that belong to no session, new rows complete before
their INSERT, and stand-ins that let a change's UPDATEs go with its commit.

An effect that states what it writes as rows, instead of sending each statement as it goes,
leaves them to the flush: with the commit, while this process renders what the change shows,
and in one go, where each flush has a cost of its own.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from functools import cache
from typing import Any, TypeVar

from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

RowT = TypeVar("RowT")


def detached_row(model: type[RowT], values: Mapping[str, Any]) -> RowT:
    """A row of ``model`` holding ``values`` as loaded, in no session: as if it had been read and
    its session closed. Built without the model's constructor, whose attribute events are most
    of the cost of copying a row (a copy is made on every change's path); columns left out are
    unloaded, as they would be after such a read. ``values`` may name relationships too."""
    row: RowT = model.__mapper__.class_manager.new_instance()  # type: ignore[attr-defined]
    row.__dict__.update(values)
    make_transient_to_detached(row)
    return row


def filled(row: RowT) -> RowT:
    """A new ``row`` with the defaults its INSERT would give it in Python (its id among them) set
    now, so that it can be copied and answered with before the INSERT goes with the commit. Only
    defaults that are a value or a function of nothing (every model's here) are filled; one that
    reads its statement's context is left to the flush, and the copy refused until then."""
    state: Any = inspect(row)
    for key, default in _defaults(type(row))[0]:  # type: ignore[arg-type]  # a class is hashable
        if key not in state.dict:
            try:
                setattr(row, key, default.arg if default.is_scalar else default.arg(None))
            except (AttributeError, TypeError):  # it wanted the INSERT's context
                continue
    return row


def filled_on_insert(model: type[Any]) -> frozenset[str]:
    """The columns of ``model`` that its INSERT fills when a new row leaves them out (in Python
    or in the database): not known in such a row before :func:`filled` or the flush."""
    return _defaults(model)[1]  # type: ignore[arg-type]  # a class is hashable


def stand_in(session: AsyncSession, model: type[RowT], row_id: uuid.UUID) -> RowT:
    """The session's row ``row_id`` of ``model`` (keyed by one column), or else one holding only
    its key: an effect sets what changes on it, and the flush that goes with the commit writes
    just that, without the row being read first (the room before already has it) and without the
    room before's own row, which belongs to the live feed, ever being touched. A row that is gone
    fails the flush (``StaleDataError``) rather than changing nothing."""
    found = _held(session, model, row_id)
    key = _key_of(model)  # type: ignore[arg-type]  # a class is hashable
    return found if found is not None else _added(session, model, {key: row_id})


def session_row(session: AsyncSession, model: type[RowT], values: Mapping[str, Any]) -> RowT:
    """The session's row for ``values``, every column of a row that a Core statement has just
    returned: as a query with populate_existing would give it (the row the session holds with its
    columns refreshed and its relationships to load again, or a new one in the session), at a
    fraction of the ORM's cost, on every change's path."""
    key = _key_of(model)  # type: ignore[arg-type]  # a class is hashable
    found = _held(session, model, values[key])
    if found is None:
        return _added(session, model, values)
    for key, value in values.items():
        set_committed_value(found, key, value)
    state: Any = inspect(found)
    loaded = [rel.key for rel in state.mapper.relationships if rel.key in state.dict]
    if loaded:
        session.sync_session.expire(found, loaded)
    return found


def _held(session: AsyncSession, model: type[RowT], row_id: Any) -> RowT | None:
    mapper: Any = inspect(model)
    found: RowT | None = session.sync_session.identity_map.get(mapper.identity_key_from_primary_key((row_id,)))
    return found


def _added(session: AsyncSession, model: type[RowT], values: Mapping[str, Any]) -> RowT:
    row = detached_row(model, values)
    session.sync_session.add(row)
    return row


@cache
def _key_of(model: type[Any]) -> str:
    """The attribute of ``model``'s primary key, which these helpers take to be one column."""
    mapper: Any = inspect(model)
    (column,) = mapper.primary_key
    key: str = mapper.get_property_by_column(column).key
    return key


@cache
def _defaults(model: type[Any]) -> tuple[tuple[tuple[str, Any], ...], frozenset[str]]:
    """``model``'s column defaults made in Python (a value, or a function of nothing), and every
    column that has a default of either kind."""
    in_python: list[tuple[str, Any]] = []
    defaulted: set[str] = set()
    for attr in inspect(model).column_attrs:
        column = attr.columns[0]
        default = column.default
        if default is not None and (default.is_scalar or default.is_callable):
            in_python.append((attr.key, default))
        if default is not None or column.server_default is not None:
            defaulted.add(attr.key)
    return tuple(in_python), frozenset(defaulted)
