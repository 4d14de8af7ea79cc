"""What a read returns: a pandas DataFrame, a pyarrow Table or a polars DataFrame, built from Arrow tables.

``output="pandas"`` (the default) is indexed by the timestamp column. ``"arrow"`` is a
:class:`pyarrow.Table` whose first column is the timestamp column (``timestamp[ns, tz]`` in the
store's time zone); ``"polars"`` is a polars DataFrame whose time column is ``Datetime("ns", tz)``.
Neither of the last two goes through pandas. Polars is optional (``pip install "tickstore[polars]"``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal, TypeAlias

import pyarrow as pa

from .errors import InvalidInputError, MissingDependencyError
from .frames import empty_frame, frame_from_tables

__all__ = ["OUTPUTS", "Output", "check_output", "convert", "empty_table", "to_output"]

Output: TypeAlias = Literal["pandas", "arrow", "polars"]
OUTPUTS = ("pandas", "arrow", "polars")


def check_output(output: Any) -> Output:
    """``output`` if it names a result kind; for polars, also checks that polars is installed."""
    if output not in OUTPUTS:
        raise InvalidInputError(f"output must be one of {', '.join(map(repr, OUTPUTS))}, got {output!r}")
    if output == "polars":
        import_polars()
    checked: Output = output
    return checked


def import_polars() -> Any:
    try:
        import polars
    except ImportError as exc:
        raise MissingDependencyError(
            f'output="polars" needs polars, which is not installed ({exc}); install it with: '
            'pip install "tickstore[polars]"'
        ) from exc
    return polars


def localise(table: pa.Table, tz: str) -> pa.Table:
    """``table`` with its first (timestamp) column in time zone ``tz`` (same instants, metadata only)."""
    field = table.schema.field(0)
    if field.type == pa.timestamp("ns", tz=tz):
        return table
    return table.set_column(
        0, pa.field(field.name, pa.timestamp("ns", tz=tz)), table.column(0).cast(pa.timestamp("ns", tz=tz))
    )


def empty_table(timestamp_column: str, tz: str, columns: Sequence[str] = ()) -> pa.Table:
    """An empty result: the timestamp column and ``columns`` (of unknown, null type)."""
    fields = [pa.field(timestamp_column, pa.timestamp("ns", tz=tz)), *(pa.field(c, pa.null()) for c in columns)]
    return pa.schema(fields).empty_table()


def convert(
    table: pa.Table, output: Output, timestamp_column: str, tz: str, gaps: Mapping[str, Any] | None = None
) -> Any:
    """One canonical table (timestamp column first, already in order) as the ``output`` kind (``gaps``: see
    `~tickstore_core.frames.frame_from_tables`)."""
    if output == "pandas":
        return frame_from_tables([table], timestamp_column, tz, gaps=gaps)
    table = localise(table, tz)
    if output == "arrow":
        return table
    result = import_polars().from_arrow(table, rechunk=False)
    return result


def to_output(
    tables: list[pa.Table],
    output: Output,
    timestamp_column: str,
    tz: str,
    columns: Sequence[str] | None = None,
    labels: Sequence[str] | None = None,
) -> Any:
    """The days' tables (in order) as one result of the ``output`` kind; empties ``tables``.

    Types that change between days are unified as for pandas (:func:`~tickstore_core.frames.frame_from_tables`).
    """
    if not tables:
        if output == "pandas":
            return empty_frame(timestamp_column, tz, columns or ())
        return convert(empty_table(timestamp_column, tz, columns or ()), output, timestamp_column, tz)
    if output == "pandas":
        return frame_from_tables(tables, timestamp_column, tz, columns, labels)
    from .schema import unify_tables

    if len(tables) > 1:
        tables[:] = unify_tables(tables, labels or [f"part {i}" for i in range(len(tables))])
    table = tables[0] if len(tables) == 1 else pa.concat_tables(tables, promote_options="permissive")
    tables.clear()
    if columns is not None:
        table = table.select([timestamp_column, *columns])
    return convert(table, output, timestamp_column, tz)
