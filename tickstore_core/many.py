"""Reads over many symbols: one plan per symbol, every symbol-day read at once on the store's pool.

`select_many` is `Tickstore.select_many`; `plan_many` and `read_all` are what it and `bars`
share: the per-symbol plans (one warning for unknown symbols) and the concurrent read.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
import pyarrow as pa

from .engine import Engine
from .errors import ColumnNotFoundError, InvalidInputError, UnknownSymbolWarning
from .filters import RowFilter, check_filter, parse_filters
from .frames import with_gaps
from .index import Version
from .outputs import check_output, convert, empty_table
from .query import Query, check_columns, empty_read, in_time_order, plan_query, read_day, read_in_turn
from .schema import unify_tables
from .symbols import check_symbol

__all__ = [
    "SYMBOL_COLUMN",
    "Plan",
    "check_symbols",
    "plan_many",
    "read_all",
    "refuse_clash",
    "select_many",
    "with_symbol",
]

_T = TypeVar("_T")
SYMBOL_COLUMN = "symbol"


@dataclass(frozen=True)
class Plan:
    """The checked queries of a read over many symbols (known symbols only, in the order asked)."""

    queries: list[Query]
    unknown: list[str]

    @property
    def symbols(self) -> list[str]:
        return [q.symbol for q in self.queries]


def check_symbols(symbols: Any) -> list[str]:
    """``symbols`` as a list of distinct, valid names (a single string is refused: it is not a list)."""
    if isinstance(symbols, (str, bytes)) or not isinstance(symbols, Iterable):
        raise InvalidInputError(f"symbols must be a list of symbol names, got {symbols!r}; for one symbol use select()")
    wanted = [check_symbol(s) for s in symbols]
    repeated = sorted({s for s in wanted if wanted.count(s) > 1})
    if repeated:
        raise InvalidInputError(f"symbols lists {', '.join(repeated)} more than once")
    if not wanted:
        raise InvalidInputError("symbols is empty; give at least one symbol")
    return wanted


def plan_many(
    engine: Engine,
    symbols: Sequence[str],
    start: Any,
    end: Any,
    as_of: Any,
    columns: Sequence[str] | None,
    row_filter: RowFilter | None,
) -> Plan:
    """Plan each symbol's read (indexes loaded concurrently); warn once about symbols the store does not have.

    A column (asked for or filtered on) must exist in the selected range of at least one symbol.
    """
    wanted = check_columns(columns, engine.timestamp_column)
    queries = engine.map(lambda s: plan_query(engine, s, start, end, as_of, None), list(symbols), "plan")
    unknown = [q.symbol for q in queries if not q.versions and not len(engine.index(q.symbol))]
    if unknown:
        message = (
            f"{len(unknown)} of the {len(symbols)} symbols are not in {engine.backend.url} and read as empty: "
            f"{', '.join(unknown)}"
        )
        warnings.warn(message, UnknownSymbolWarning, stacklevel=4)
    known = [dataclasses.replace(q, columns=wanted) for q in queries if q.symbol not in unknown]
    versions = [v for q in known for v in q.versions]
    label = ", ".join(q.symbol for q in known) or ", ".join(symbols)
    if versions and all(v.columns is not None for v in versions):
        present = {c for v in versions for c in v.columns or ()}
        missing = [c for c in wanted or () if c not in present]
        if missing:
            raise ColumnNotFoundError(
                f"no symbol of {label} has column {', '.join(map(repr, missing))} in the selected range; "
                f"columns there: {', '.join(sorted(present))}"
            )
    check_filter(row_filter, label, versions)
    if wanted is None or SYMBOL_COLUMN in wanted:
        refuse_symbol_column([q.symbol for q in known if any(SYMBOL_COLUMN in (v.columns or ()) for v in q.versions)])
    return Plan(known, unknown)


def refuse_clash(timestamp_column: str, names: Sequence[str], what: str) -> None:
    """A store whose timestamp column has the name of a column ``what`` returns cannot return it."""
    if timestamp_column in names:
        raise InvalidInputError(
            f"this store's timestamp column is named {timestamp_column!r}, as is a column {what} returns "
            f"({', '.join(map(repr, names))}); read with select() and compute it from there"
        )


def refuse_symbol_column(symbols: Sequence[str]) -> None:
    """A symbol with a data column named ``symbol`` cannot be read with the column that names each row's symbol."""
    if symbols:
        raise InvalidInputError(
            f"{', '.join(symbols)} {'has' if len(symbols) == 1 else 'have'} a column named {SYMBOL_COLUMN!r}, the "
            "name of the column select_many adds for each row's symbol; leave it out with columns=[...], or read "
            "with select()"
        )


def read_all(engine: Engine, plan: Plan, work: Callable[[Query, Version], _T], description: str) -> list[list[_T]]:
    """``work(query, version)`` for every symbol-day of ``plan``, all at once on the pool; grouped by symbol."""
    tasks = [(q, v) for q in plan.queries for v in q.versions]
    in_turn = read_in_turn(engine, [v for _, v in tasks])
    results = engine.map(lambda task: work(*task), tasks, description, in_turn=in_turn)
    grouped: list[list[_T]] = []
    position = 0
    for q in plan.queries:
        grouped.append(results[position : position + len(q.versions)])
        position += len(q.versions)
    return grouped


Parallel = Callable[[Callable[[Any], Any], list[Any]], list[Any]]


def with_symbol(
    tables: list[pa.Table], codes: list[int], symbols: Sequence[str], parallel: Parallel | None = None
) -> pa.Table:
    """The tables (one per symbol, each in time order) as one table sorted stably by time, with a
    categorical ``symbol`` column second (categories: ``symbols``, in order).

    ``parallel(work, items)`` maps over the columns when reordering them (string columns are the
    slow ones: reordering them one after the other took as long as reading the day).
    """
    table, order = merge_order(tables, codes, symbols)
    if order is None:
        return table
    indices = pa.array(order)
    return table.take(indices) if parallel is None else _take_in_parallel(table, indices, parallel)


def merge_order(tables: list[pa.Table], codes: list[int], symbols: Sequence[str]) -> tuple[pa.Table, np.ndarray | None]:
    """The tables one after the other with the ``symbol`` column (see `with_symbol`), and the stable
    time order of their rows (None when they are in order already)."""
    table = tables[0] if len(tables) == 1 else pa.concat_tables(tables, promote_options="permissive")
    sizes = [t.num_rows for t in tables]
    indices = np.repeat(np.array(codes, dtype=np.int32), sizes)
    dictionary = pa.array(list(symbols), type=pa.string())
    column = pa.DictionaryArray.from_arrays(pa.array(indices, type=pa.int32()), dictionary)
    table = table.add_column(1, SYMBOL_COLUMN, column)
    if len([s for s in sizes if s]) <= 1:
        return table, None
    times = table.column(0).combine_chunks().cast(pa.int64()).to_numpy()
    if bool((times[1:] >= times[:-1]).all()):
        return table, None
    return table, np.argsort(times, kind="stable")


def _is_variable_width(kind: pa.DataType) -> bool:
    return bool(pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_binary(kind))


def _take_in_parallel(table: pa.Table, indices: pa.Array, parallel: Callable[..., list[Any]]) -> pa.Table:
    """``table.take(indices)`` column by column on the pool; variable-width columns (strings), the
    slowest by far, in two halves that become two chunks of the column."""
    half = len(indices) // 2
    pieces = []
    for position, column in enumerate(table.columns):
        if not _is_variable_width(column.type) or half < 100_000:
            pieces.append((position, column, indices))
        else:
            pieces += [(position, column, indices.slice(0, half)), (position, column, indices.slice(half))]
    taken = parallel(lambda piece: piece[1].take(piece[2]), pieces)
    chunks: list[list[pa.Array]] = [[] for _ in table.columns]
    for (position, _, _), result in zip(pieces, taken, strict=True):
        chunks[position] += result.chunks
    columns = [pa.chunked_array(parts, type=column.type) for parts, column in zip(chunks, table.columns, strict=True)]
    return pa.Table.from_arrays(columns, schema=table.schema)


def _add_columns_of_symbols_without_rows(
    engine: Engine, plan: Plan, without_rows: list[int], tables: list[pa.Table], labels: list[str], codes: list[int]
) -> list[pa.Table]:
    """Add an empty table for each symbol (by code) without versions in range whose columns, as its nearest
    version has them (`empty_read`), include some the read tables lack: the result's columns are those
    of every symbol asked for, whether or not it had ticks in the range. Only the lacking columns are
    added once other symbols have rows, so a symbol without rows cannot make a read fail on a type.
    Returns those symbols' empty tables, every column of theirs included."""
    if not without_rows:
        return []
    queries = [plan.queries[code] for code in without_rows]
    templates = engine.map(lambda q: empty_read(engine, q), queries, f"{len(queries)} symbols without rows")
    present = {name for table in tables for name in table.column_names}
    for code, query, template in zip(without_rows, queries, templates, strict=True):
        lacking = [name for name in template.column_names[1:] if name not in present] if present else None
        if lacking == []:
            continue
        tables.append(template if lacking is None else template.select([template.column_names[0], *lacking]))
        labels.append(query.symbol)
        codes.append(code)
        present.update(template.column_names)
    return templates


def select_many(
    engine: Engine,
    symbols: Any,
    start: Any,
    end: Any,
    columns: str | Sequence[str] | None,
    filters: Any,
    as_of: Any,
    output: Any,
) -> Any:
    """See :meth:`Tickstore.select_many`."""
    output = check_output(output)
    wanted = check_symbols(symbols)
    refuse_clash(engine.timestamp_column, [SYMBOL_COLUMN], "select_many")
    row_filter = parse_filters(filters, engine.timestamp_column, engine.tz)
    plan = plan_many(engine, wanted, start, end, as_of, [columns] if isinstance(columns, str) else columns, row_filter)
    ts, tz = engine.timestamp_column, engine.tz
    names = [SYMBOL_COLUMN, *(plan.queries[0].columns or ())] if plan.queries else [SYMBOL_COLUMN]
    grouped = read_all(engine, plan, lambda q, v: read_day(engine, q, v, row_filter), f"{len(wanted)} symbols")
    tables, labels, codes, without_rows = [], [], [], []
    for code, (query, days) in enumerate(zip(plan.queries, grouped, strict=True)):
        if not days:
            without_rows.append(code)
            continue
        day_labels = [f"{query.symbol} {v.day}" for v in query.versions]
        if not all(v.stats_known for v in query.versions):  # serenity's files may spill into other days
            days = in_time_order(unify_tables(days, day_labels))
            day_labels = day_labels[: len(days)] if len(days) == len(day_labels) else [query.symbol]
        if any(SYMBOL_COLUMN in t.column_names[1:] for t in days):  # serenity's files, columns unknown till read
            refuse_symbol_column([query.symbol])
        tables.extend(days)
        labels.extend(day_labels)
        codes.extend([code] * len(days))
    read = [[(f.name, f.type) for f in t.schema] for t in tables]
    templates = _add_columns_of_symbols_without_rows(engine, plan, without_rows, tables, labels, codes)
    gaps = with_gaps([*read, *([(f.name, f.type) for f in t.schema] for t in templates)])  # a symbol without a column
    if not tables:  # only symbols the store does not have
        asked = check_columns([columns] if isinstance(columns, str) else columns, ts)
        empty = empty_table(ts, tz, [SYMBOL_COLUMN, *(asked or ())])
        symbol = pa.DictionaryArray.from_arrays(pa.array([], pa.int32()), pa.array(wanted, pa.string()))
        empty = empty.set_column(1, pa.field(SYMBOL_COLUMN, symbol.type), symbol)
        return convert(empty, output, ts, tz)
    if len(tables) > 1:
        tables = unify_tables(tables, labels)
    per_symbol: dict[int, list[pa.Table]] = {}
    for code, table in zip(codes, tables, strict=True):
        per_symbol.setdefault(code, []).append(table)
    merged = [t[0] if len(t) == 1 else pa.concat_tables(t, promote_options="permissive") for t in per_symbol.values()]
    positions = [wanted.index(q.symbol) for q in plan.queries]  # categories: every symbol asked for, in order
    table = with_symbol(
        merged,
        [positions[code] for code in per_symbol],
        wanted,
        lambda work, items: list(engine.executor().map(work, items)),
    )
    if plan.queries[0].columns is not None:
        table = table.select([ts, *names])
    return convert(table, output, ts, tz, gaps)
