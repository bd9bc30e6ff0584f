"""ORM rows made without a query: copies that belong to no session (of a row, or of values just
returned), new rows complete before their INSERT, and stand-ins that let a change's UPDATEs go
with its commit.

An effect that states what it writes as rows, instead of sending each statement as it goes,
leaves them to the flush: with the commit, while this process renders what the change shows,
and in one go, where each flush has a cost of its own.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from functools import cache
from typing import Any, NamedTuple, TypeVar

from sqlalchemy import ColumnElement, inspect
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


def copy_row(row: RowT, **changes: Any) -> RowT | None:
    """A detached copy of an ORM row's columns (with ``changes``), belonging to no session, so a
    room can hold what a change wrote without sharing the change's objects; None if a column's
    value is not known here (expired, or one a new row's INSERT fills that it was not given). A
    column a new row never set is NULL. Relationships are the caller's to set."""
    state: Any = inspect(row)
    loaded, shape = state.dict, _shape(type(row))  # type: ignore[arg-type]  # a class is hashable
    unknown = state.expired_attributes | {key for key in shape.deferred if key not in loaded}
    if state.key is None:  # a new row not written yet: what its INSERT fills is not known
        unknown |= {key for key in shape.defaulted if key not in loaded}
    if not unknown.isdisjoint(key for key in shape.keys if key not in changes):
        return None
    return detached_row(type(row), {key: loaded.get(key) for key in shape.keys} | changes)


def columns_of(model: type[Any]) -> tuple[tuple[str, ColumnElement[Any]], ...]:
    """``model``'s column attributes and their columns, in the mapper's order: what a Core
    statement returns for :func:`session_row`."""
    return _shape(model).columns  # type: ignore[arg-type]  # a class is hashable


def filled(row: RowT) -> RowT:
    """A new ``row`` with the defaults its INSERT would give it in Python (its id among them) set
    now, so that it can be copied and answered with before the INSERT goes with the commit. Only
    defaults that are a value or a function of nothing (every model's here) are filled; one that
    reads its statement's context is left to the flush, and the copy refused until then."""
    state: Any = inspect(row)
    for key, default in _shape(type(row)).python_defaults:  # type: ignore[arg-type]  # a class is hashable
        if key not in state.dict:
            try:
                setattr(row, key, default.arg if default.is_scalar else default.arg(None))
            except (AttributeError, TypeError):  # it wanted the INSERT's context
                continue
    return row


def stand_in(session: AsyncSession, model: type[RowT], row_id: uuid.UUID) -> RowT:
    """The session's row ``row_id`` of ``model`` (keyed by one column), or else one holding only
    its key: an effect sets what changes on it, and the flush that goes with the commit writes
    just that, without the row being read first (the room before already has it) and without the
    room before's own row, which belongs to the live feed, ever being touched. A row that is gone
    fails the flush (``StaleDataError``) rather than changing nothing."""
    found = _held(session, model, row_id)
    return found if found is not None else _added(session, model, {_key_of(model): row_id})


def session_row(session: AsyncSession, model: type[RowT], values: Mapping[str, Any]) -> RowT:
    """The session's row for ``values``, every column of a row that a Core statement has just
    returned: as a query with populate_existing would give it (the row the session holds with its
    columns refreshed and its relationships to load again, or a new one in the session), at a
    fraction of the ORM's cost, on every change's path."""
    found = _held(session, model, values[_key_of(model)])
    if found is None:
        return _added(session, model, values)
    for name, value in values.items():
        set_committed_value(found, name, value)
    state: Any = inspect(found)
    loaded = [rel.key for rel in state.mapper.relationships if rel.key in state.dict]
    if loaded:
        session.sync_session.expire(found, loaded)
    return found


def _key_of(model: type[Any]) -> str:
    key = _shape(model).key  # type: ignore[arg-type]  # a class is hashable
    if key is None:
        raise TypeError(f"{model.__name__} is keyed by several columns; these helpers take one")
    return key


def _held(session: AsyncSession, model: type[RowT], row_id: Any) -> RowT | None:
    mapper: Any = inspect(model)
    found: RowT | None = session.sync_session.identity_map.get(mapper.identity_key_from_primary_key((row_id,)))
    return found


def _added(session: AsyncSession, model: type[RowT], values: Mapping[str, Any]) -> RowT:
    row = detached_row(model, values)
    session.sync_session.add(row)
    return row


class _Shape(NamedTuple):
    """What these helpers need to know of a model's columns, worked out once per model."""

    columns: tuple[tuple[str, ColumnElement[Any]], ...]  # each column attribute and its column
    keys: tuple[str, ...]  # the column attributes
    deferred: frozenset[str]  # loaded only when asked for
    python_defaults: tuple[tuple[str, Any], ...]  # a value, or a function of nothing, in Python
    defaulted: frozenset[str]  # filled by the INSERT when left out (in Python or the database)
    key: str | None  # the primary key's attribute; None for a key of several columns


@cache
def _shape(model: type[Any]) -> _Shape:
    mapper: Any = inspect(model)
    attrs = list(mapper.column_attrs)
    python_defaults, defaulted = [], set()
    for attr in attrs:
        column = attr.columns[0]
        if column.default is not None and (column.default.is_scalar or column.default.is_callable):
            python_defaults.append((attr.key, column.default))
        if column.default is not None or column.server_default is not None:
            defaulted.add(attr.key)
    primary = mapper.primary_key
    return _Shape(
        columns=tuple((attr.key, attr.columns[0]) for attr in attrs),
        keys=tuple(attr.key for attr in attrs),
        deferred=frozenset(attr.key for attr in attrs if attr.deferred),
        python_defaults=tuple(python_defaults),
        defaulted=frozenset(defaulted),
        key=mapper.get_property_by_column(primary[0]).key if len(primary) == 1 else None,
    )
