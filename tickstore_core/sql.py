"""SQL over the store with DuckDB: ``FROM ticks('BTCUSD', '2024-03-04', '2024-03-08')``.

Each ``ticks(symbol[, start[, end]])`` call in a query (arguments are SQL string literals or NULL;
``start`` and ``end`` read as `Tickstore.select` reads them) is replaced by a view that streams the
selected versions as Arrow record batches, day by day, read ahead on the store's pool: DuckDB scans
a :class:`pyarrow.RecordBatchReader`, so a query over a long range never holds every day at once
(unless it sorts or joins them itself). Every call of one query is read as of the same transaction
time. DuckDB is optional: ``pip install "tickstore[sql]"``.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from .engine import Engine
from .errors import InvalidInputError, MissingDependencyError, SchemaError
from .outputs import check_output, import_polars, localise
from .query import Query, empty_read, in_time_order, plan_query, read_day
from .schema import common_type, conform_table, parse_type, unify_tables
from .times import now_ns

__all__ = ["TicksCall", "find_ticks_calls", "run_sql", "stream_ticks"]

_NAME = re.compile(r"ticks\s*\(", re.IGNORECASE)
_ARGUMENT = re.compile(r"\s*(?:'((?:[^']|'')*)'|(NULL))\s*(,|\))", re.IGNORECASE)


@dataclass(frozen=True)
class TicksCall:
    """One ``ticks(...)`` call: where it is in the query and its arguments."""

    begin: int
    end: int
    symbol: str
    start: str | None
    stop: str | None


def find_ticks_calls(query: str) -> list[TicksCall]:
    """The ``ticks(...)`` calls of ``query``, outside string literals, quoted names and comments."""
    calls = []
    position = 0
    while position < len(query):
        char = query[position]
        if char in "'\"":  # skip a literal or a quoted identifier ('' and "" escape the quote)
            closing = position + 1
            while closing < len(query):
                if query[closing] == char and query[closing + 1 : closing + 2] != char:
                    break
                closing += 2 if query[closing] == char else 1
            position = closing + 1
            continue
        if query.startswith("--", position):
            newline = query.find("\n", position)
            position = len(query) if newline < 0 else newline + 1
            continue
        if query.startswith("/*", position):
            closing = query.find("*/", position + 2)
            position = len(query) if closing < 0 else closing + 2
            continue
        match = _NAME.match(query, position)
        before = query[position - 1] if position else " "
        if match and not (before.isalnum() or before in "_."):
            call, after = _arguments(query, match.end(), position)
            calls.append(call)
            position = after
            continue
        position += 1
    return calls


def _arguments(query: str, position: int, begin: int) -> tuple[TicksCall, int]:
    values: list[str | None] = []
    while True:
        match = _ARGUMENT.match(query, position)
        if match is None:
            if not values and query[position:].lstrip().startswith(")"):
                break
            raise InvalidInputError(
                f"ticks(...) at position {begin} takes string literals: ticks('SYMBOL'[, 'START'[, 'END']]), "
                f"e.g. ticks('BTCUSD', '2024-03-04', '2024-03-08'); got {query[begin : begin + 80]!r}"
            )
        values.append(None if match[2] else match[1].replace("''", "'"))
        position = match.end()
        if match[3] == ")":
            break
    if not 1 <= len(values) <= 3 or values[0] is None:
        raise InvalidInputError(
            f"ticks(...) at position {begin} takes a symbol and an optional start and end, e.g. "
            f"ticks('BTCUSD', '2024-03-04', '2024-03-08'); got {len(values)} arguments"
        )
    padded = [*values, None, None]
    return TicksCall(begin, position, str(padded[0]), padded[1], padded[2]), position


def _schema(engine: Engine, query: Query) -> pa.Schema | None:
    """The result's schema from the recorded column types; None when a version does not record them."""
    types: dict[str, pa.DataType] = {}
    for version in query.versions:
        if version.columns is None or version.types is None:
            return None
        for name, code in zip(version.columns, version.types, strict=True):
            parsed = parse_type(code)
            if parsed is None:
                return None
            known = types.get(name)
            combined = parsed if known is None else common_type(known, parsed)
            if combined is None:
                raise SchemaError(
                    f"{query.symbol}: column {name!r} has types no promotion combines ({known}, {parsed})"
                )
            types[name] = combined
    fields = [pa.field(engine.timestamp_column, pa.timestamp("ns", tz=engine.tz))]
    fields += [pa.field(name, t) for name, t in types.items()]
    return pa.schema(fields)


def stream_ticks(engine: Engine, query: Query) -> pa.RecordBatchReader:
    """The query's ticks as record batches, day by day in time order, read ahead on the store's pool."""
    if not query.versions:  # no ticks in range: the columns a select of it has, without rows
        table = localise(empty_read(engine, query), engine.tz)
        return pa.RecordBatchReader.from_batches(table.schema, table.to_batches())
    schema = _schema(engine, query)
    if schema is None or not all(v.stats_known for v in query.versions):  # serenity / 0.1: read, then unify
        tables = [read_day(engine, query, v) for v in query.versions]
        if tables:
            tables = in_time_order(unify_tables(tables, [str(v.day) for v in query.versions]))
            table = localise(pa.concat_tables(tables, promote_options="permissive"), engine.tz)
        else:
            table = pa.table({engine.timestamp_column: pa.array([], pa.timestamp("ns", tz=engine.tz))})
        return pa.RecordBatchReader.from_batches(table.schema, table.to_batches())
    return pa.RecordBatchReader.from_batches(schema, _batches(engine, query, schema))


def _batches(engine: Engine, query: Query, schema: pa.Schema) -> Iterator[pa.RecordBatch]:
    pool = engine.executor()
    pending: deque[Future[pa.Table]] = deque()
    versions = iter(query.versions)
    targets = {field.name: field.type for field in schema}

    def submit() -> None:
        version = next(versions, None)
        if version is not None:
            pending.append(pool.submit(read_day, engine, query, version))

    for _ in range(engine.max_workers):
        submit()
    try:
        while pending:
            table = pending.popleft().result()
            submit()
            table = localise(conform_table(table, targets, query.symbol), engine.tz)
            columns = [
                table.column(f.name) if f.name in table.column_names else pa.nulls(table.num_rows, f.type)
                for f in schema
            ]
            yield from pa.Table.from_arrays(columns, schema=schema).to_batches()
    finally:
        for future in pending:
            future.cancel()


def _duckdb() -> Any:
    try:
        import duckdb
    except ImportError as exc:
        raise MissingDependencyError(
            f'store.sql needs DuckDB, which is not installed ({exc}); install it with: pip install "tickstore[sql]"'
        ) from exc
    return duckdb


def run_sql(engine: Engine, query: str, as_of: Any, output: Any) -> Any:
    """See :meth:`Tickstore.sql`."""
    output = check_output(output)
    if not isinstance(query, str) or not query.strip():
        raise InvalidInputError(f"query must be an SQL string, got {query!r}")
    duckdb = _duckdb()
    as_of = now_ns() if as_of is None else as_of  # every ticks(...) of the query as of one transaction time
    calls = find_ticks_calls(query)
    connection = duckdb.connect()
    try:
        connection.execute(f"SET TimeZone = '{engine.tz}'")
        rewritten, position = [], 0
        for i, call in enumerate(calls):
            name = f"__tickstore_ticks_{i}"
            selected = plan_query(engine, call.symbol, call.start, call.stop, as_of, None)
            connection.register(name, stream_ticks(engine, selected))
            rewritten += [query[position : call.begin], name]
            position = call.end
        rewritten.append(query[position:])
        try:
            relation = connection.sql("".join(rewritten))
            if relation is None:
                return None
            fetch = getattr(relation, "to_arrow_table", None) or relation.fetch_arrow_table
            table = _in_zone(fetch(), engine.tz)
        except duckdb.Error as exc:
            raise InvalidInputError(f"DuckDB could not run the query: {exc}") from exc
    finally:
        connection.close()
    if output == "pandas":
        return table.to_pandas()
    return table if output == "arrow" else _polars_from(table)


def _in_zone(table: pa.Table, tz: str) -> pa.Table:
    """``table`` with every time-zone aware timestamp column in the store's zone (DuckDB answers in UTC)."""
    for position, field in enumerate(table.schema):
        if pa.types.is_timestamp(field.type) and field.type.tz is not None and field.type.tz != tz:
            zoned = pa.timestamp(field.type.unit, tz=tz)
            table = table.set_column(position, pa.field(field.name, zoned), table.column(position).cast(zoned))
    return table


def _polars_from(table: pa.Table) -> Any:
    return import_polars().from_arrow(table)
