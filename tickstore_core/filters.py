"""Row filters pushed down into the read: the ``read_parquet`` convention, applied to each decoded day.

``filters=`` takes the pandas/pyarrow form: a list of ``(column, op, value)`` tuples is their AND;
a list of such lists is the OR of those ANDs (disjunctive normal form). Operators: ``==`` (or
``=``), ``!=``, ``<``, ``<=``, ``>``, ``>=``, ``in``, ``not in``. The store's timestamp column may be
filtered too (its values are read as `select` reads bounds: naive means UTC).

Each day's Arrow table is filtered before anything becomes pandas, so rows that fail never reach
pandas. A comparison with a missing value is false, for every operator (``!=`` and ``not in``
included), as in Arrow and Parquet readers: ``("size", "!=", 1)`` drops rows whose size is missing.
A column absent on some day reads as missing there, so its rows fail every test on it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .errors import ColumnNotFoundError, InvalidInputError, InvalidTimeError
from .schema import parse_type
from .times import to_utc_ns

__all__ = ["FilterLike", "RowFilter", "check_filter", "filter_day", "parse_filters"]

FilterLike: TypeAlias = "Sequence[tuple[str, str, Any]] | Sequence[Sequence[tuple[str, str, Any]]]"

_OPERATORS = ("==", "=", "!=", "<", "<=", ">", ">=", "in", "not in")
_SET_OPERATORS = ("in", "not in")


@dataclass(frozen=True)
class Predicate:
    """One ``(column, op, value)`` test; ``value`` is a tuple for ``in`` and ``not in``."""

    column: str
    op: str
    value: Any

    def __str__(self) -> str:
        value = list(self.value) if self.op in _SET_OPERATORS else self.value
        return f"({self.column!r}, {self.op!r}, {value!r})"


@dataclass(frozen=True)
class RowFilter:
    """Checked filters in disjunctive normal form: the OR of ANDs of predicates (picklable, for dask)."""

    groups: tuple[tuple[Predicate, ...], ...]
    timestamp_column: str

    @property
    def columns(self) -> tuple[str, ...]:
        """The data columns the filter reads (the timestamp column is always read)."""
        names = (p.column for group in self.groups for p in group if p.column != self.timestamp_column)
        return tuple(dict.fromkeys(names))

    def read_columns(self, columns: Sequence[str] | None) -> list[str] | None:
        """The data columns a read must decode to return ``columns`` and test the filter (None: all)."""
        return None if columns is None else [*columns, *(c for c in self.columns if c not in columns)]

    def check_types(self, symbol: str, recorded: Mapping[str, str]) -> None:
        """Refuse before reading a value that cannot be compared with a column's recorded type (code)."""
        for group in self.groups:
            for predicate in group:
                code = recorded.get(predicate.column)
                arrow_type = parse_type(code) if code is not None else None
                if arrow_type is not None and pa.types.is_dictionary(arrow_type):
                    arrow_type = arrow_type.value_type  # compared by their values, as when applied
                if arrow_type is not None:
                    _scalars(predicate, arrow_type, symbol)

    def check_columns(self, symbol: str, known: Iterable[str]) -> None:
        """Refuse a filter on a column no selected day has (:class:`ColumnNotFoundError`)."""
        present = set(known)
        missing = [c for c in self.columns if c not in present]
        if missing:
            raise ColumnNotFoundError(
                f"filters name {', '.join(map(repr, missing))}, which {symbol} does not have in the selected range; "
                f"columns there: {', '.join(sorted(present)) or 'none'}"
            )

    def apply(self, table: pa.Table, symbol: str = "") -> pa.Table:
        """The rows of ``table`` that pass (a new table; the input is not changed)."""
        if table.num_rows == 0:
            return table
        expression = self.expression(table.schema, symbol)
        try:
            return table.filter(expression)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError) as exc:
            raise InvalidInputError(f"filters {self} cannot be applied to {symbol}: {exc}") from exc

    def expression(self, schema: pa.Schema, symbol: str = "") -> pc.Expression:
        """The filter as a pyarrow compute expression over a table of ``schema``."""
        ors: pc.Expression | None = None
        for group in self.groups:
            ands: pc.Expression | None = None
            for predicate in group:
                test = _predicate_expression(predicate, schema, symbol)
                ands = test if ands is None else ands & test
            assert ands is not None
            ors = ands if ors is None else ors | ands
        assert ors is not None
        return ors

    def __str__(self) -> str:
        return " or ".join("[" + ", ".join(map(str, group)) + "]" for group in self.groups)


def parse_filters(filters: Any, timestamp_column: str, tz: str = "UTC") -> RowFilter | None:
    """Check ``filters`` (see the module docstring) and put them in normal form; None for no filter.

    Values compared with the timestamp column are read as select reads its bounds: a date is local
    midnight in the store's time zone ``tz``.

    Raises
    ------
    InvalidInputError
        The filters are not a list of tuples or of lists of tuples, an operator is unknown, or a
        value has the wrong shape (``in`` needs a list of values; the others one value).
    """
    if filters is None:
        return None
    if isinstance(filters, (str, bytes)) or not isinstance(filters, Sequence) or not filters:
        raise InvalidInputError(
            f"filters must be a non-empty list of (column, op, value) tuples, or a list of such lists for OR, "
            f"got {filters!r}"
        )
    if all(isinstance(item, tuple) for item in filters):
        raw_groups: list[Sequence[Any]] = [filters]
    elif all(isinstance(item, list) for item in filters):
        raw_groups = list(filters)
    else:
        raise InvalidInputError(
            "filters must be a list of (column, op, value) tuples (AND), or a list of lists of such tuples "
            f"(OR of ANDs), not a mix: {filters!r}"
        )
    groups = []
    for group in raw_groups:
        if not group:
            raise InvalidInputError(f"filters hold an empty list of conditions: {filters!r}")
        groups.append(tuple(_predicate(item, timestamp_column, tz) for item in group))
    return RowFilter(tuple(groups), timestamp_column)


def _predicate(item: Any, timestamp_column: str, tz: str) -> Predicate:
    if not isinstance(item, tuple) or len(item) != 3:
        raise InvalidInputError(f"a filter is a (column, op, value) tuple, got {item!r}")
    column, op, value = item
    if not isinstance(column, str) or not column:
        raise InvalidInputError(f"a filter's column must be a column name, got {column!r} in {item!r}")
    if not isinstance(op, str) or op.lower() not in _OPERATORS:
        raise InvalidInputError(f"unknown filter operator {op!r} in {item!r}; use one of: {', '.join(_OPERATORS)}")
    op = "==" if op == "=" else op.lower()
    if op in _SET_OPERATORS:
        if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
            raise InvalidInputError(f"{op!r} needs a list of values, got {value!r} in {item!r}")
        values = tuple(value)
        if column == timestamp_column:
            values = tuple(_time_value(v, item, tz) for v in values)
        return Predicate(column, op, values)
    if value is None or (isinstance(value, float) and value != value):
        raise InvalidInputError(
            f"cannot compare with a missing value in {item!r}: comparisons with missing values are never true"
        )
    if not _is_scalar(value):
        raise InvalidInputError(f"{op!r} compares with one value, got {value!r} in {item!r}; use 'in' for a list")
    if column == timestamp_column:
        value = _time_value(value, item, tz)
    return Predicate(column, op, value)


def _is_scalar(value: Any) -> bool:
    return isinstance(value, (str, bytes, int, float, bool, dt.date, dt.time, dt.timedelta, np.generic)) or (
        not isinstance(value, Iterable)
    )


def _time_value(value: Any, item: Any, tz: str) -> pa.Scalar:
    try:
        return pa.scalar(to_utc_ns(value, "filter value", tz), type=pa.timestamp("ns", tz="UTC"))
    except InvalidTimeError as exc:
        raise InvalidInputError(f"the timestamp column's filter {item!r} needs a timestamp: {exc}") from exc


def _predicate_expression(predicate: Predicate, schema: pa.Schema, symbol: str) -> pc.Expression:
    position = schema.get_field_index(predicate.column)
    if position < 0:  # a column absent on this day reads as missing: the test is false
        return pc.scalar(False)
    arrow_type = schema.field(position).type
    field = pc.field(predicate.column)
    if pa.types.is_dictionary(arrow_type):  # compare categoricals by their values
        field = field.cast(arrow_type.value_type)
        arrow_type = arrow_type.value_type
    if pa.types.is_integer(arrow_type) and predicate.op not in _SET_OPERATORS and _beyond_64_bits(predicate.value):
        return _versus_beyond(field, predicate.op, above=predicate.value > 0)
    values = _scalars(predicate, arrow_type, symbol)
    if predicate.op in _SET_OPERATORS:
        field, value_set = _value_set(field, arrow_type, values)
        found = field.isin(value_set)
        return found if predicate.op == "in" else ~found & field.is_valid()
    (value,) = values
    comparisons = {
        "==": lambda f, v: f == v,
        "!=": lambda f, v: f != v,
        "<": lambda f, v: f < v,
        "<=": lambda f, v: f <= v,
        ">": lambda f, v: f > v,
        ">=": lambda f, v: f >= v,
    }
    result: pc.Expression = comparisons[predicate.op](field, pc.scalar(value))
    return result


def _raw_values(predicate: Predicate) -> list[Any]:
    return list(predicate.value) if predicate.op in _SET_OPERATORS else [predicate.value]


def _beyond_64_bits(value: Any) -> bool:
    """An integer no 64-bit column holds (Arrow's integers are 64 bits at most)."""
    return isinstance(value, int) and not isinstance(value, bool) and not -(2**63) <= value < 2**64


def _versus_beyond(field: pc.Expression, op: str, *, above: bool) -> pc.Expression:
    """A comparison of an integer column with a number above (or below) all its values: true for every
    present value, or for none; a missing value never passes, as in any comparison."""
    passes = op == "!=" or (op in ("<", "<=") if above else op in (">", ">="))
    return field.is_valid() if passes else pc.scalar(False)


def _value_set(field: pc.Expression, arrow_type: pa.DataType, values: list[Any]) -> tuple[pc.Expression, pa.Array]:
    """The values of ``in``/``not in`` as an array of the column's type (numbers: compared as float64 if need be)."""
    if not (pa.types.is_integer(arrow_type) or pa.types.is_floating(arrow_type)):
        return field, pa.array([v.cast(arrow_type) for v in values], type=arrow_type)
    numbers = [v.as_py() for v in values]
    if pa.types.is_integer(arrow_type) and all(float(n).is_integer() for n in numbers):
        in_range = [int(n) for n in numbers if _fits(int(n), arrow_type)]
        return field, pa.array(in_range, type=arrow_type)
    return field.cast(pa.float64()), pa.array([float(n) for n in numbers], type=pa.float64())


def _fits(number: int, arrow_type: pa.DataType) -> bool:
    info = np.iinfo(arrow_type.to_pandas_dtype())
    return bool(info.min <= number <= info.max)


def _scalars(predicate: Predicate, arrow_type: pa.DataType, symbol: str) -> list[Any]:
    """The predicate's value(s) as Arrow scalars comparable with a column of ``arrow_type``, or a clear error."""
    converted = []
    for value in _raw_values(predicate):
        if _beyond_64_bits(value):
            if pa.types.is_integer(arrow_type):
                continue  # beyond every value of the column: in no set of them (and see _versus_beyond)
            if not pa.types.is_floating(arrow_type):
                raise InvalidInputError(
                    f"filter {predicate} compares column {predicate.column!r} ({arrow_type}) with {value}, "
                    "which no 64-bit integer holds; give a value in the column's range"
                )
            value = float(value)
        scalar = _scalar_for(value, arrow_type)
        if scalar is None:
            where = f" of {symbol}" if symbol else ""
            raise InvalidInputError(
                f"filter {predicate} compares column {predicate.column!r}{where}, which holds {arrow_type}, "
                f"with {value!r} ({type(value).__name__}); give a value of the column's kind"
            )
        converted.append(scalar)
    return converted


def _scalar_for(value: Any, arrow_type: pa.DataType) -> pa.Scalar | None:
    """``value`` as a scalar of a type Arrow compares with ``arrow_type``; None if it cannot be."""
    if isinstance(value, pa.Scalar):
        if pa.types.is_timestamp(arrow_type) and pa.types.is_timestamp(value.type):
            return _timestamp_scalar(value.value, arrow_type)
        return value if value.type == arrow_type else None
    is_bool = isinstance(value, (bool, np.bool_))
    if pa.types.is_boolean(arrow_type):
        return pa.scalar(bool(value)) if is_bool else None
    if pa.types.is_integer(arrow_type) or pa.types.is_floating(arrow_type) or pa.types.is_decimal(arrow_type):
        if is_bool or not isinstance(value, (int, float, np.integer, np.floating)):
            return None
        return pa.scalar(value.item() if isinstance(value, np.generic) else value)
    if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type):
        return pa.scalar(value, type=arrow_type) if isinstance(value, str) else None
    if pa.types.is_timestamp(arrow_type):
        try:
            ns = to_utc_ns(value, "filter value") if arrow_type.tz is not None else _naive_ns(value)
        except InvalidTimeError:
            return None
        return _timestamp_scalar(ns, arrow_type)
    try:
        return pa.scalar(value, type=arrow_type)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, TypeError, ValueError):
        return None


def _naive_ns(value: Any) -> int:
    """A naive column's value: the wall time as written, without a zone (an aware value is an error)."""
    import pandas as pd

    try:
        stamp = pd.Timestamp(value)
    except (ValueError, TypeError) as exc:
        raise InvalidTimeError(str(exc)) from exc
    if stamp is pd.NaT or stamp.tzinfo is not None:
        raise InvalidTimeError("a naive column compares with naive times")
    return int(stamp.as_unit("ns").value)


def _timestamp_scalar(ns: int, arrow_type: pa.DataType) -> pa.Scalar:
    """Nanoseconds as a scalar of the column's type (its unit: finer times are truncated, as Arrow casts)."""
    exact = pa.scalar(ns, type=pa.timestamp("ns", tz=arrow_type.tz))
    return exact.cast(arrow_type, safe=False) if arrow_type.unit != "ns" else exact


def check_filter(row_filter: RowFilter | None, symbol: str, versions: Sequence[Any]) -> None:
    """Refuse, before reading, a filter on a column none of ``versions`` has or with a value of the wrong kind.

    Versions whose columns are unknown (serenity stores) are checked only when read.
    """
    if row_filter is None or not versions or any(v.columns is None for v in versions):
        return
    row_filter.check_columns(symbol, (c for v in versions for c in v.columns))
    for version in versions:
        if version.types is not None:
            row_filter.check_types(symbol, dict(zip(version.columns, version.types, strict=True)))


def filter_day(
    table: pa.Table, row_filter: RowFilter | None, columns: Sequence[str] | None, symbol: str = ""
) -> pa.Table:
    """One decoded day's rows that pass ``row_filter``, with only the timestamp column and ``columns``.

    The read decoded the filter's columns too (:meth:`RowFilter.read_columns`); they go again here.
    """
    if row_filter is None:
        return table
    table = row_filter.apply(table, symbol)
    if columns is not None:
        names = table.column_names
        table = table.select([names[0], *(c for c in columns if c in names)])
    return table
