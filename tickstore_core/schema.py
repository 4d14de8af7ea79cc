"""Column types that change between days: one policy, applied on insert and on read.

A select concatenates days, so a column must have one type in the result. tickstore:

- **unifies on read** where a lossless or documented promotion exists: categorical
  (``dictionary<string>``) and string read as string (two categoricals stay categorical),
  ``string``/``large_string`` as ``large_string``, a smaller integer as the larger one (signed when
  one side is signed), integers mixed with floats as ``float64`` (integers beyond 2**53 round, as
  in pandas), decimals of different precision as the wider decimal, timestamps and durations of
  different units as nanoseconds, a time-zone aware column whose zone changes in the zone of the
  first day read, an all-missing (null-typed) column as the other type;
- **refuses an insert** (:class:`~tickstore_core.errors.SchemaError`, before anything is written)
  whose column has a type no promotion combines with the type that column has in the current
  version of another day: string vs integer, bool vs string, integer vs decimal, naive vs aware
  timestamps, ... A correction replaces its day, so only the other days count.

Indexes written by tickstore 0.1 do not record column types; a select over such days (or over
old versions, ``as_of``) that meets types no promotion combines raises ``SchemaError`` naming the
column, the types and the days, never a raw Arrow error.

Types are recorded in the index as Arrow's own spelling (``str(pa.DataType)``), parsed back here.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

import pyarrow as pa

from .errors import SchemaError

__all__ = [
    "NULLABLE_INTEGERS",
    "check_compatible",
    "common_type",
    "conform_table",
    "parse_type",
    "recorded_targets",
    "type_code",
    "unify_tables",
]

_TIMESTAMP = re.compile(r"timestamp\[(?P<unit>s|ms|us|ns)(?:, tz=(?P<tz>.+))?\]")
_DICTIONARY = re.compile(r"dictionary<values=(?P<values>\w+), indices=(?P<indices>\w+), ordered=(?P<ordered>[01])>")
_DECIMAL = re.compile(r"decimal(?P<bits>128|256)\((?P<precision>\d+), (?P<scale>\d+)\)")


def type_code(arrow_type: pa.DataType) -> str:
    """How a column type is recorded in the index."""
    return str(arrow_type)


def parse_type(code: str) -> pa.DataType | None:
    """The Arrow type a :func:`type_code` stands for, or None for types this module does not promote."""
    if match := _TIMESTAMP.fullmatch(code):
        return pa.timestamp(match["unit"], tz=match["tz"])
    if match := _DICTIONARY.fullmatch(code):
        values, indices = parse_type(match["values"]), parse_type(match["indices"])
        if values is None or indices is None or not pa.types.is_integer(indices):
            return None
        return pa.dictionary(indices, values, ordered=match["ordered"] == "1")
    if match := _DECIMAL.fullmatch(code):
        make = pa.decimal128 if match["bits"] == "128" else pa.decimal256
        return make(int(match["precision"]), int(match["scale"]))
    try:
        return pa.type_for_alias(code)
    except (ValueError, KeyError):
        return None


def _stringlike(t: pa.DataType) -> bool:
    return bool(pa.types.is_string(t) or pa.types.is_large_string(t))


def _categorical(t: pa.DataType) -> bool:
    return pa.types.is_dictionary(t) and _stringlike(t.value_type)


def _common_int(a: pa.DataType, b: pa.DataType) -> pa.DataType | None:
    """The smallest integer type holding every value of both, if there is one."""
    signed = pa.types.is_signed_integer(a) or pa.types.is_signed_integer(b)
    bits = []
    for t in (a, b):
        width = t.bit_width
        bits.append(width * 2 if signed and pa.types.is_unsigned_integer(t) else width)
    width = max(bits)
    if width > 64:
        return None  # uint64 with a signed type: no integer type holds both
    made: pa.DataType = getattr(pa, f"{'int' if signed else 'uint'}{width}")()
    return made


def common_type(first: pa.DataType, other: pa.DataType) -> pa.DataType | None:
    """The type a column of types ``first`` (read first) and ``other`` reads as; None if none is safe."""
    if first == other:
        return first
    if pa.types.is_null(first):
        return other
    if pa.types.is_null(other):
        return first
    if (_stringlike(first) or _categorical(first)) and (_stringlike(other) or _categorical(other)):
        values = [t.value_type if pa.types.is_dictionary(t) else t for t in (first, other)]
        text = pa.large_string() if any(pa.types.is_large_string(v) for v in values) else pa.string()
        if _categorical(first) and _categorical(other):
            indices = _common_int(first.index_type, other.index_type)
            if indices is not None and pa.types.is_signed_integer(indices):
                return pa.dictionary(indices, text)
        return text
    if pa.types.is_integer(first) and pa.types.is_integer(other):
        return _common_int(first, other)
    numeric = (pa.types.is_integer, pa.types.is_floating)
    if any(kind(first) for kind in numeric) and any(kind(other) for kind in numeric):
        return pa.float64()
    if pa.types.is_timestamp(first) and pa.types.is_timestamp(other):
        if (first.tz is None) != (other.tz is None):
            return None  # naive and aware: the naive values' zone is unknown
        return pa.timestamp("ns", tz=first.tz)
    if pa.types.is_duration(first) and pa.types.is_duration(other):
        return pa.duration("ns")
    if pa.types.is_decimal(first) and pa.types.is_decimal(other):
        scale = max(first.scale, other.scale)
        precision = max(first.precision - first.scale, other.precision - other.scale) + scale
        if precision <= 38 and pa.types.is_decimal128(first) and pa.types.is_decimal128(other):
            return pa.decimal128(precision, scale)
        return pa.decimal256(precision, scale) if precision <= 76 else None
    return None


def _compatible_codes(a: str, b: str) -> bool:
    if a == b:
        return True
    first, other = parse_type(a), parse_type(b)
    return first is not None and other is not None and common_type(first, other) is not None


def _days_text(labels: Sequence[object]) -> str:
    shown = ", ".join(map(str, labels[:5]))
    return shown + (f" and {len(labels) - 5} more" if len(labels) > 5 else "")


def check_compatible(
    symbol: str,
    existing: Mapping[str, Mapping[str, Sequence[object]]],
    new: Mapping[str, str],
    new_days: Sequence[object],
) -> None:
    """Refuse ``new`` column types (name -> type code) that no promotion combines with ``existing`` ones.

    ``existing`` maps a column name to its type codes in the current versions of the other days,
    each with the days holding it.
    """
    for name, code in new.items():
        for other, days in existing.get(name, {}).items():
            if not _compatible_codes(other, code):
                raise SchemaError(
                    f"{symbol}: column {name!r} is {code} in the ticks for {_days_text(new_days)} but {other} "
                    f"on {_days_text(days)}, and no select could combine the two, so nothing was written. "
                    f"Convert the column to {other} (e.g. ticks[{name!r}].astype(...)), store it under another "
                    "name, or insert those days again with the new type in the same insert"
                )


def unify_tables(tables: list[pa.Table], labels: Sequence[str]) -> list[pa.Table]:
    """Cast the tables' columns to one type each (see the module docstring), or raise :class:`SchemaError`.

    ``labels`` name the tables (their days) in the error message. The pandas metadata of the first
    table describes the result, so its entry for a promoted column is replaced by one matching the
    new type (or dropped), lest pandas rebuild the old dtype.
    """
    if len(tables) < 2:
        return tables
    nullable = nullable_integers(tables[0].schema.metadata, [t.schema.metadata for t in tables[1:]])
    tables = [_made_nullable(tables[0], nullable), *tables[1:]]
    seen: dict[str, list[tuple[int, pa.DataType]]] = {}
    for i, table in enumerate(tables):
        for field in table.schema:
            seen.setdefault(field.name, []).append((i, field.type))
    targets: dict[str, pa.DataType] = {}
    for name, typed in seen.items():
        if all(t == typed[0][1] for _, t in typed):
            continue
        target: pa.DataType | None = typed[0][1]
        for _, t in typed[1:]:
            target = common_type(target, t) if target is not None else None
        if target is None:
            raise SchemaError(_conflict(name, typed, labels))
        targets[name] = target
    if not targets:
        return tables
    nullable = {name: kind for name, kind in nullable.items() if not pa.types.is_floating(targets.get(name, pa.null()))}
    unified = []
    for i, table in enumerate(tables):
        table, _ = _cast_columns(table, targets, labels[i])
        if i == 0:
            table = _made_nullable(table.replace_schema_metadata(_pandas_metadata(tables, targets)), nullable)
        unified.append(table)
    return unified


def nullable_integers(
    first: Mapping[bytes, bytes] | None, others: Sequence[Mapping[bytes, bytes] | None]
) -> dict[str, str]:
    """The integer columns that some day's pandas metadata makes pandas' nullable integers (``Int64``...),
    with the nullable type wide enough for every day (``int64`` one day and ``Int16`` another: ``Int64``),
    where ``first``'s metadata says otherwise. pandas' own concat of the days gives a nullable type,
    where a NumPy integer column with a missing value becomes float64 and loses the digits of ids
    beyond 2**53."""
    base = (first or {}).get(b"pandas")
    texts = {m.get(b"pandas") for m in others if m} - {base, None}
    wanted: dict[str, pa.DataType] = {}
    for text in texts if base is not None else ():
        for name, bits in _nullable_between(base, text):
            held = wanted.get(name)
            wanted[name] = bits if held is None or pa.types.is_boolean(bits) else (_common_int(held, bits) or held)
    mine = _numpy_types(base) if wanted and base is not None else {}
    kinds = {name: NULLABLE_INTEGERS.get(str(bits), "boolean") for name, bits in wanted.items()}
    return {name: kind for name, kind in kinds.items() if mine.get(name) != kind}


NULLABLE_INTEGERS = {f"{sign}int{bits}": f"{sign.upper()}Int{bits}" for sign in ("", "u") for bits in (8, 16, 32, 64)}
"""The nullable pandas integer of each Arrow integer type, by name (``int64``: ``Int64``)."""


@functools.lru_cache(maxsize=256)
def _nullable_between(base: bytes, other: bytes) -> tuple[tuple[str, pa.DataType], ...]:
    """The integer columns of two days' pandas metadata of which one is nullable, with the Arrow integer
    type both fit in (kept: the days of a store repeat a few)."""
    mine, theirs = _numpy_types(base), _numpy_types(other)
    found = []
    for name, kind in theirs.items():
        ours = mine.get(name, "")
        if {kind, ours} == {"bool", "boolean"}:  # flags one day, flags with a missing one another
            found.append((name, pa.bool_()))
            continue
        nullable = kind[:1] in ("I", "U") or ours[:1] in ("I", "U")  # Int64, UInt8...
        if nullable and kind.lower() in NULLABLE_INTEGERS and ours.lower() in NULLABLE_INTEGERS:
            common = _common_int(pa.type_for_alias(kind.lower()), pa.type_for_alias(ours.lower()))
            if common is not None:
                found.append((name, common))
    return tuple(found)


def _made_nullable(table: pa.Table, found: Mapping[str, str]) -> pa.Table:
    """``table`` whose pandas metadata makes the columns ``found`` (see `nullable_integers`) those types."""
    if not found or not table.schema.metadata or b"pandas" not in table.schema.metadata:
        return table
    metadata = dict(table.schema.metadata)
    pandas = json.loads(metadata[b"pandas"])
    for column in pandas.get("columns", []):
        if column.get("field_name") in found:
            column["numpy_type"] = found[column["field_name"]]
    metadata[b"pandas"] = json.dumps(pandas).encode()
    return table.replace_schema_metadata(metadata)


def _numpy_types(text: bytes) -> dict[str, str]:
    """Each column's ``numpy_type`` in pyarrow's pandas metadata, by field name ({} if unreadable)."""
    try:
        return {str(c["field_name"]): str(c["numpy_type"]) for c in json.loads(text)["columns"]}
    except (KeyError, ValueError, TypeError):
        return {}


def recorded_targets(
    parts: Sequence[tuple[str, Sequence[str], Sequence[str] | None]], only: Sequence[str]
) -> dict[str, pa.DataType]:
    """The unified type of each column in ``only`` whose recorded type changes across ``parts`` (label, columns, types).

    For readers that convert each day on its own (dask); parts without recorded types are skipped.
    """
    seen: dict[str, list[tuple[str, pa.DataType]]] = {}
    for label, columns, types in parts:
        for name, code in zip(columns, types or (), strict=False):
            parsed = parse_type(code) if name in only else None
            if parsed is not None:
                seen.setdefault(name, []).append((label, parsed))
    targets = {}
    for name, typed in seen.items():
        target: pa.DataType | None = typed[0][1]
        for _, t in typed[1:]:
            target = common_type(target, t) if target is not None else None
        if target is None:
            labels = [label for label, _ in typed]
            raise SchemaError(_conflict(name, [(i, t) for i, (_, t) in enumerate(typed)], labels))
        if any(t != target for _, t in typed):
            targets[name] = target
    return targets


def conform_table(table: pa.Table, targets: Mapping[str, pa.DataType], label: str) -> pa.Table:
    """``table`` with its columns cast to ``targets``; pandas metadata of cast columns is dropped."""
    table, changed = _cast_columns(table, targets, label)
    pandas = table.schema.pandas_metadata
    if not changed or pandas is None:
        return table
    pandas["columns"] = [e for e in pandas.get("columns", []) if e.get("field_name") not in changed]
    metadata = {**(table.schema.metadata or {}), b"pandas": json.dumps(pandas).encode()}
    return table.replace_schema_metadata(metadata)


def _cast_columns(table: pa.Table, targets: Mapping[str, pa.DataType], label: str) -> tuple[pa.Table, set[str]]:
    changed = set()
    for name, target in targets.items():
        position = table.schema.get_field_index(name)
        if position < 0 or table.schema.field(position).type == target:
            continue
        source = table.schema.field(position).type
        lossy = pa.types.is_floating(target) and pa.types.is_integer(source)  # documented, as pandas does
        try:
            column = table.column(position).cast(target, safe=not lossy)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError) as exc:
            raise SchemaError(
                f"column {name!r} on {label} cannot be read as {target} ({exc}); select that day alone"
            ) from exc
        table = table.set_column(position, pa.field(name, target), column)
        changed.add(name)
    return table, changed


def _conflict(name: str, typed: list[tuple[int, pa.DataType]], labels: Sequence[str]) -> str:
    by_type: dict[str, list[str]] = {}
    for i, t in typed:
        by_type.setdefault(str(t), []).append(labels[i])
    kinds = "; ".join(f"{t} on {_days_text(days)}" for t, days in by_type.items())
    return (
        f"column {name!r} has types no select can combine: {kinds}. Select those days separately "
        f"(or with columns= leaving {name!r} out), or insert the days of one type again with the other"
    )


def _pandas_metadata(tables: list[pa.Table], targets: Mapping[str, pa.DataType]) -> dict[bytes, bytes] | None:
    """The first table's schema metadata, with the pandas entries of promoted columns fixed."""
    metadata = dict(tables[0].schema.metadata or {})
    raw = metadata.get(b"pandas")
    if raw is None:
        return metadata or None
    pandas: dict[str, Any] = json.loads(raw)
    replacement: dict[str, Any] = {}
    for table in tables:  # an entry written for the target type, where a day has it
        entries = {e.get("field_name"): e for e in (table.schema.pandas_metadata or {}).get("columns", [])}
        for name, target in targets.items():
            position = table.schema.get_field_index(name)
            matching = position >= 0 and table.schema.field(position).type == target
            if matching and name not in replacement and name in entries:
                replacement[name] = entries[name]
    columns = []
    for entry in pandas.get("columns", []):
        name = entry.get("field_name")
        if name in targets:
            if name in replacement:
                columns.append(replacement[name])
        else:
            columns.append(entry)
    pandas["columns"] = columns
    metadata[b"pandas"] = json.dumps(pandas).encode()
    return metadata
