"""Row filters pushed down into the read: the ``read_parquet`` convention, applied to each decoded day.

``filters=`` takes the pandas/pyarrow form: a list of ``(column, op, value)`` tuples is their AND;
a list of such lists is the OR of those ANDs (disjunctive normal form). Operators: ``==`` (or
``=``), ``!=``, ``<``, ``<=``, ``>``, ``>=``, ``in``, ``not in``. The store's timestamp column may be
filtered too (its values are read as `select` reads bounds: naive means UTC).

Each day's Arrow table is filtered before anything becomes pandas, so rows that fail never reach
pandas. A comparison with a missing value is false, for every operator (``!=`` and ``not in``
included), as in Arrow and Parquet readers: ``("size", "!=", 1)`` drops rows whose size is missing.
A column absent on some day reads as missing there, so its rows fail every test on it.

Values compare as numbers and times do, whatever the column's unit, width or scale: a time finer than
a ``timestamp[s]`` column's unit, 2.5 against integers, 2**63 against int64, 1.1 against a decimal;
never truncated to the column's type (see :class:`Place`).
"""

from __future__ import annotations

import datetime as dt
import decimal
import functools
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
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
                    _places(predicate, arrow_type, symbol)

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
    if _is_missing(value):
        raise InvalidInputError(
            f"cannot compare with a missing value in {item!r}: comparisons with missing values are never true"
        )
    if not _is_scalar(value):
        raise InvalidInputError(f"{op!r} compares with one value, got {value!r} in {item!r}; use 'in' for a list")
    if column == timestamp_column:
        value = _time_value(value, item, tz)
    return Predicate(column, op, value)


def _is_missing(value: Any) -> bool:
    """None or NaN (a float's, numpy's or a Decimal's): no comparison with it is ever true."""
    if isinstance(value, Decimal):
        return value.is_nan()
    return value is None or (isinstance(value, (float, np.floating)) and value != value)


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
    if pa.types.is_float16(arrow_type):  # Arrow has no kernels comparing half floats
        field, arrow_type = field.cast(pa.float64()), pa.float64()
    places = _places(predicate, arrow_type, symbol)
    if predicate.op in _SET_OPERATORS:
        field, value_set = _value_set(field, arrow_type, places)
        found = field.isin(value_set)
        return found if predicate.op == "in" else ~found & field.is_valid()
    (place,) = places
    return _compare(field, predicate.op, place)


@dataclass(frozen=True)
class Place:
    """Where a filter value falls among the values of a column's type: ``low`` is the greatest of them at
    or below it, ``high`` the least at or above it (None past the type's range), both the same when the
    type holds the value. Comparing with them compares exactly: nothing is truncated to the column's unit,
    scale or width."""

    low: Any
    high: Any
    arrow_type: pa.DataType  # of the scalars made from low and high

    @property
    def exact(self) -> bool:
        """Whether the column's type holds the value itself."""
        return self.low is not None and self.high is not None and bool(self.low == self.high)

    def scalar(self, value: Any) -> pc.Expression:
        """``low`` or ``high`` as a literal of the expression."""
        return pc.scalar(value if isinstance(value, pa.Scalar) else pa.scalar(value, type=self.arrow_type))


def _compare(field: pc.Expression, op: str, place: Place) -> pc.Expression:
    """``field op value``, through the column's neighbours of the value: ``< v`` is ``< high``, ``<= v`` is
    ``<= low``, and so on; past the column's range, true for every present value or for none."""
    present, none = field.is_valid(), pc.scalar(False)
    low, high = place.low, place.high
    if op in ("==", "!="):
        if not place.exact:
            return none if op == "==" else present
        return field == place.scalar(low) if op == "==" else field != place.scalar(low)
    if op == "<":
        return present if high is None else field < place.scalar(high)
    if op == "<=":
        return none if low is None else field <= place.scalar(low)
    if op == ">":
        return present if low is None else field > place.scalar(low)
    return none if high is None else field >= place.scalar(high)


def _raw_values(predicate: Predicate) -> list[Any]:
    return list(predicate.value) if predicate.op in _SET_OPERATORS else [predicate.value]


def _value_set(field: pc.Expression, arrow_type: pa.DataType, places: list[Place]) -> tuple[pc.Expression, pa.Array]:
    """The values of ``in``/``not in`` that the column's type holds, as an array of it (floats: float64, the
    column widened to it): a value it cannot hold matches no row."""
    values = [p.low for p in places if p.exact]
    if pa.types.is_floating(arrow_type):
        if arrow_type != pa.float64():
            field = field.cast(pa.float64())
        return field, pa.array(values, type=pa.float64())
    if any(isinstance(v, pa.Scalar) for v in values):
        values = [v.cast(arrow_type) if isinstance(v, pa.Scalar) else pa.scalar(v, type=arrow_type) for v in values]
    return field, pa.array(values, type=arrow_type)


def _places(predicate: Predicate, arrow_type: pa.DataType, symbol: str) -> list[Place]:
    """Where the predicate's value(s) fall among a column of ``arrow_type``'s values, or a clear error."""
    places = []
    for value in _raw_values(predicate):
        place = _place(value, arrow_type)
        if place is None:
            where = f" of {symbol}" if symbol else ""
            raise InvalidInputError(
                f"filter {predicate} compares column {predicate.column!r}{where}, which holds {arrow_type}, "
                f"with {value!r} ({type(value).__name__}); give a value of the column's kind"
            )
        places.append(place)
    return places


def _place(value: Any, arrow_type: pa.DataType) -> Place | None:
    """``value`` placed among the values of ``arrow_type`` (see :class:`Place`); None if it is not of a kind
    a column of that type compares with."""
    if isinstance(value, (np.number, np.bool_)):
        value = value.item()
    if pa.types.is_boolean(arrow_type):
        return _same(bool(value), pa.bool_()) if isinstance(value, bool) else None
    if pa.types.is_integer(arrow_type) or pa.types.is_floating(arrow_type) or pa.types.is_decimal(arrow_type):
        return _number_place(value, arrow_type) if _is_number(value) else None
    if pa.types.is_timestamp(arrow_type):
        ns = _timestamp_ns(value, arrow_type)
        return None if ns is None else _grid_place(ns, arrow_type, 1, _NS_PER_UNIT[arrow_type.unit], _INT64)
    if pa.types.is_duration(arrow_type) and isinstance(value, (dt.timedelta, np.timedelta64)):
        ns = _duration_ns(value)
        return None if ns is None else _grid_place(ns, arrow_type, 1, _NS_PER_UNIT[arrow_type.unit], _INT64)
    if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type):
        return _same(value, arrow_type) if isinstance(value, str) else None
    if isinstance(value, pa.Scalar):
        return _same(value, arrow_type) if value.type == arrow_type else None
    try:
        return _same(pa.scalar(value, type=arrow_type), arrow_type)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, TypeError, ValueError, OverflowError):
        return None


_NS_PER_UNIT = {"s": 10**9, "ms": 10**6, "us": 10**3, "ns": 1}
_INT64 = (-(2**63), 2**63 - 1)


def _same(value: Any, arrow_type: pa.DataType) -> Place:
    return Place(value, value, arrow_type)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, Decimal)) and not isinstance(value, bool)


def _number_place(number: int | float | Decimal, arrow_type: pa.DataType) -> Place:
    """A number among an integer, decimal or float column's values (floats: compared as float64, as pandas)."""
    if pa.types.is_floating(arrow_type):
        return _same(_as_float(number), pa.float64())
    if pa.types.is_decimal(arrow_type):
        most = 10**arrow_type.precision - 1
        return _grid_place(number, arrow_type, 10**arrow_type.scale, 1, (-most, most))
    return _grid_place(number, arrow_type, 1, 1, _integer_bounds(arrow_type))


@functools.lru_cache(maxsize=16)
def _integer_bounds(arrow_type: pa.DataType) -> tuple[int, int]:
    info = np.iinfo(arrow_type.to_pandas_dtype())
    return int(info.min), int(info.max)


def _as_float(number: int | float | Decimal) -> float:
    try:
        return float(number)
    except OverflowError:  # an int beyond every float: above (or below) every value of the column
        return math.inf if number > 0 else -math.inf


def _grid_place(
    number: int | float | Decimal, arrow_type: pa.DataType, times: int, per: int, bounds: tuple[int, int]
) -> Place:
    """A number among the integers ``number * times / per`` falls between, within ``bounds``: a column of
    integers, of decimals (``times`` = 10**scale) or of times (``per`` = nanoseconds in its unit)."""
    if isinstance(number, float) and number.is_integer():
        number = int(number)  # exact, and faster than a fraction
    if isinstance(number, int):
        scaled = number * times
        floor, ceiling = scaled // per, -(-scaled // per)
    elif not _is_finite(number):  # NaN (in a list) matches nothing; an infinity is past every value
        return Place(None, None, arrow_type) if number != number else _past(number > 0, bounds, arrow_type)
    else:
        exact = Fraction(number) * times / per
        floor, ceiling = math.floor(exact), math.ceil(exact)
    lowest, highest = bounds
    low = None if floor < lowest else min(floor, highest)
    high = None if ceiling > highest else max(ceiling, lowest)
    return Place(_grid_value(low, arrow_type), _grid_value(high, arrow_type), arrow_type)


def _past(above: bool, bounds: tuple[int, int], arrow_type: pa.DataType) -> Place:
    lowest, highest = bounds
    if above:
        return Place(_grid_value(highest, arrow_type), None, arrow_type)
    return Place(None, _grid_value(lowest, arrow_type), arrow_type)


def _is_finite(number: float | Decimal) -> bool:
    return number.is_finite() if isinstance(number, Decimal) else math.isfinite(number)


def _grid_value(steps: int | None, arrow_type: pa.DataType) -> Any:
    """A count of a grid's steps as the value Arrow makes a scalar of ``arrow_type`` from."""
    if steps is None or not pa.types.is_decimal(arrow_type):
        return steps
    return Decimal(steps).scaleb(-arrow_type.scale, context=_WIDE)


_WIDE = decimal.Context(prec=100)  # decimal256 holds 76 digits: scaling by powers of ten rounds none of them


def _timestamp_ns(value: Any, arrow_type: pa.DataType) -> int | None:
    """A timestamp column's filter value in nanoseconds (aware: UTC; naive: wall time); None if not a time."""
    if isinstance(value, pa.Scalar):
        return int(value.value) if pa.types.is_timestamp(value.type) else None
    try:
        return to_utc_ns(value, "filter value") if arrow_type.tz is not None else _naive_ns(value)
    except InvalidTimeError:
        return None


def _duration_ns(value: dt.timedelta | np.timedelta64) -> int | None:
    import pandas as pd

    try:
        length = pd.Timedelta(value)
    except (ValueError, TypeError, OverflowError):
        return None
    return None if length is pd.NaT else int(length.value)


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
