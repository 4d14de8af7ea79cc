"""One version of one day of a symbol, and the segments of a version made by appends.

A `Version` is the index's record of one object (or, for appends, a list of `Segment` objects):
the day, the number, the transaction-time validity ``[start_time, end_time)``, and what is needed
to read and check it. Versions never change once committed, so their JSON is made once.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import json
from dataclasses import dataclass
from typing import Any

from .times import TIME_MAX, TIME_MIN

__all__ = ["Segment", "Version"]


@dataclass(frozen=True)
class Segment:
    """One immutable object of a version made by appends: its key, ticks and checksum.

    A version of a day that was appended to is its previous version's segments plus one new
    segment; reading it concatenates them and sorts by time stably (appended rows after the rows
    already there with the same timestamp).
    """

    key: str
    rows: int
    bytes: int
    checksum: str
    min_time: int | None
    max_time: int | None
    encoding: str | None = None
    """How the object is encoded, as `Version.encoding` (None: tickstore 0.1's encoding)."""

    def to_json(self) -> dict[str, Any]:
        record = {name: getattr(self, name) for name in _SEGMENT_FIELDS}
        if self.encoding is not None:
            record["encoding"] = self.encoding
        return record

    @classmethod
    def from_json(cls, record: dict[str, Any]) -> Segment:
        return cls(**record)

    @functools.cached_property
    def text(self) -> str:
        """`to_json` as JSON text, made once: successive versions of an appended day share their segments."""
        return json.dumps(self.to_json(), separators=_COMPACT)


@dataclass(frozen=True)
class Version:
    """One immutable version of a (symbol, day) partition and its audit record.

    The version is the truth for every transaction time ``as_of`` with
    ``start_time <= as_of < end_time`` (UTC nanoseconds; ``end_time == TIME_MAX`` while current).
    `Tickstore.insert` returns them; `Tickstore.history` shows them as a table.

    A version read from a serenity store's index knows its times and object but not its
    statistics: ``rows``, ``bytes``, ``columns``, ``schema`` and ``checksum`` are None (unknown,
    see `stats_known`), and reads decode the object by its content and trim it.

    Attributes
    ----------
    day : datetime.date
        The trading day.
    version : int
        Its number, from 0 for the day's first version.
    key : str
        The object holding its ticks.
    start_time, end_time : int
        The transaction times (UTC nanoseconds) it is the truth between.
    recorded_at : int
        When it was committed (UTC nanoseconds).
    rows, bytes : int or None
        Its ticks and the object's size.
    min_time, max_time : int or None
        Its first and last tick (UTC nanoseconds).
    columns : tuple of str or None
        Its data columns.
    schema, checksum : str or None
        A fingerprint of its Arrow schema, and the SHA-256 of its object.

    Examples
    --------
    >>> (version,) = store.insert("BTCUSD", ticks, day="2024-03-04")  # doctest: +SKIP
    >>> version.version, version.rows, version.current  # doctest: +SKIP
    (0, 1200, True)
    """

    day: dt.date
    version: int
    key: str
    start_time: int
    end_time: int
    recorded_at: int
    rows: int | None
    bytes: int | None
    min_time: int | None
    max_time: int | None
    columns: tuple[str, ...] | None
    schema: str | None
    checksum: str | None
    types: tuple[str, ...] | None = None
    """The Arrow type of each of ``columns`` (see `tickstore_core.schema`); None in indexes of tickstore 0.1
    and in serenity stores."""
    segments: tuple[Segment, ...] | None = None
    """The objects of a version made by `Tickstore.append`, oldest first; None for one object (``key``)."""
    kind: str | None = None
    """How it was made: None for an insert, ``"append"`` or ``"compaction"`` (the same ticks in one object)."""
    metadata: str | None = dataclasses.field(default=None, hash=False)
    """The user's metadata given to insert or append, as canonical JSON text (see `user_metadata`)."""

    @property
    def parts(self) -> tuple[Segment, ...]:
        """The objects holding the version's ticks, in the order they were written."""
        if self.segments is not None:
            return self.segments
        return (
            Segment(
                self.key,
                self.rows or 0,
                self.bytes or 0,
                self.checksum or "",
                self.min_time,
                self.max_time,
                self.encoding,
            ),
        )

    @property
    def keys(self) -> tuple[str, ...]:
        """The keys of every object the version references."""
        return tuple(s.key for s in self.segments) if self.segments is not None else (self.key,)

    @property
    def user_metadata(self) -> dict[str, Any] | None:
        """The metadata given to insert or append, or None."""
        return None if self.metadata is None else dict(json.loads(self.metadata))

    @property
    def new_format(self) -> bool:
        """Whether the version uses what an index of tickstore 0.1 cannot hold."""
        return self.segments is not None or self.kind is not None or self.metadata is not None

    encoding: str | None = None
    """How the object is encoded (``"arrow"``, ``"hdf5-arrow"``, see :mod:`tickstore_core.encoding`); None for
    objects written by tickstore 0.1 (the backend's Parquet or HDF5 version 1) and serenity's files."""

    @property
    def stats_known(self) -> bool:
        """False for a version of a serenity store: rows, size, columns and checksum are unknown."""
        return self.checksum is not None

    @property
    def may_have_rows(self) -> bool:
        """Whether reading the version can give ticks (unknown statistics: yes)."""
        return self.rows is None or self.rows > 0

    @property
    def current(self) -> bool:
        """True while no later insert or delete has ended this version."""
        return self.end_time == TIME_MAX

    def valid_at(self, as_of: int | None) -> bool:
        """Whether this version is the truth at transaction time ``as_of`` (None: now).

        Parameters
        ----------
        as_of : int or None
            A transaction time in UTC nanoseconds, or None for now.

        Returns
        -------
        bool
            ``start_time <= as_of < end_time``; for None, whether the version is `current`.

        Examples
        --------
        >>> version.valid_at(pd.Timestamp("2024-03-05", tz="UTC").value)  # doctest: +SKIP
        True
        """
        if as_of is None:
            return self.current
        return self.start_time <= as_of < self.end_time

    def to_json(self) -> dict[str, Any]:
        """The version as a JSON-ready record, as the symbol's index stores it (without ``types``).

        `text` keeps its JSON text, made once: versions never change, and indexes are rewritten often.

        Returns
        -------
        dict
            The fields by name; ``day`` as ``YYYY-MM-DD`` and ``columns`` as a list; ``segments``,
            ``kind`` and ``metadata`` only when set.

        Examples
        --------
        >>> Version.from_json(version.to_json()) == dataclasses.replace(version, types=None)  # doctest: +SKIP
        True
        """
        record = self._plain_record()
        for name in ("segments", "kind", "metadata"):  # absent unless used, so 0.1's records stay as they were
            value = getattr(self, name)
            if value is not None:
                record[name] = [s.to_json() for s in value] if name == "segments" else value
        return record

    def _plain_record(self) -> dict[str, Any]:
        """The record's fields every version has (types are kept beside, see `SymbolIndex.to_bytes`)."""
        record = {name: getattr(self, name) for name in _VERSION_FIELDS}
        record["day"] = self.day.isoformat()
        record["columns"] = None if self.columns is None else list(self.columns)
        return record

    @functools.cached_property
    def text(self) -> str:
        """`to_json` as JSON text, made once: a commit writes the text of every version the index holds.

        Exactly ``json.dumps(to_json())`` (compact), with each segment's text made once: a day of
        appends has each of its segments in every later version.
        """
        if self.segments is None:
            return self._head + self._tail + "}"
        return f'{self._head},"segments":[{",".join(s.text for s in self.segments)}]{self._tail}}}'

    def text_after(self, shared: int) -> str:
        """The record's text when the record before it (the day's previous version) holds its first
        ``shared`` segments: ``base_segments`` says so and ``segments`` lists only the others, so a
        day of appends is stored once, not once per version (``tickstore-index/3``).

        Parameters
        ----------
        shared : int
            How many of the version's first segments the record before it holds (1 to all).

        Returns
        -------
        str
            The record as compact JSON text, made once per ``shared``.

        Raises
        ------
        ValueError
            The version has no segments, or fewer than ``shared``.

        Examples
        --------
        >>> json.loads(appended.text_after(3))["base_segments"]  # doctest: +SKIP
        3
        """
        if self.segments is None or not 0 < shared <= len(self.segments):
            raise ValueError(f"a version of {len(self.segments or ())} segments cannot share {shared}")
        made: dict[int, str] = self.__dict__.setdefault("_texts_after", {})
        text = made.get(shared)
        if text is None:
            rest = ",".join(s.text for s in self.segments[shared:])
            text = made[shared] = f'{self._head},"base_segments":{shared},"segments":[{rest}]{self._tail}}}'
        return text

    @functools.cached_property
    def _head(self) -> str:
        """The record's fields every version has, as JSON text without its closing brace."""
        return json.dumps(self._plain_record(), separators=_COMPACT)[:-1]

    @functools.cached_property
    def _tail(self) -> str:
        """``kind`` and ``metadata`` when set, as JSON members each led by a comma."""
        return "".join(
            f',"{name}":{json.dumps(value, separators=_COMPACT)}'
            for name in ("kind", "metadata")
            if (value := getattr(self, name)) is not None
        )

    @functools.cached_property
    def types_text(self) -> str:
        """``types`` as JSON text (``null`` if unknown), made once: the index keeps them in a list beside."""
        return json.dumps(list(self.types) if self.types is not None else None, separators=(",", ":"))

    @classmethod
    def from_json(
        cls,
        record: dict[str, Any],
        *,
        types: Any = None,
        encoding: str | None = None,
        shared: tuple[Segment, ...] = (),
    ) -> Version:
        """A version from a record `to_json` made.

        Parameters
        ----------
        record : dict
            The fields by name, as `to_json` gives them.
        types : list of str, optional
            The column types the index keeps beside the versions (ignored unless one per column).
        encoding : str, optional
            The object encoding the index keeps beside the versions (None: tickstore 0.1's).
        shared : tuple of Segment, optional
            The segments that come before the record's own ``segments`` (a record with
            ``base_segments`` shares them with the record before it, see `text_after`).

        Returns
        -------
        Version
            The version.

        Examples
        --------
        >>> Version.from_json(version.to_json()).day  # doctest: +SKIP
        datetime.date(2024, 3, 4)
        """
        fields = dict(record)
        fields["day"] = dt.date.fromisoformat(fields["day"])
        columns = fields["columns"] = None if fields["columns"] is None else tuple(fields["columns"])
        if fields.get("segments") is not None or shared:
            fields["segments"] = shared + tuple(Segment.from_json(s) for s in fields.get("segments") or ())
        if isinstance(types, list) and columns is not None and len(types) == len(columns):
            fields["types"] = tuple(types)
        if encoding is not None:
            fields["encoding"] = encoding
        return _checked(cls(**fields))


def _checked(version: Version) -> Version:
    """``version`` if its fields have their types and lie in range, else ValueError (the index is damaged:
    a read acting on such a record would fail with a raw error or, worse, read the wrong day). Straight
    line code: an index of 100,000 versions is checked as it loads."""
    start, end, at, number = version.start_time, version.end_time, version.recorded_at, version.version
    rows, size, low, high = version.rows, version.bytes, version.min_time, version.max_time
    if type(start) is not int or type(end) is not int or type(at) is not int or type(number) is not int:
        raise ValueError(f"a version of {version.day} has a number or time that is not an integer")
    if not TIME_MIN <= start <= end <= TIME_MAX or not TIME_MIN <= at <= TIME_MAX or number < 0:
        raise ValueError(f"version {number} of {version.day} has a number or time out of range")
    if (rows is not None and (type(rows) is not int or rows < 0)) or (
        size is not None and (type(size) is not int or size < 0)
    ):
        raise ValueError(f"version {number} of {version.day} has rows or bytes that are not a count")
    if (low is not None or high is not None) and (
        type(low) is not int or type(high) is not int or not TIME_MIN <= low <= high <= TIME_MAX
    ):
        raise ValueError(f"version {number} of {version.day} has first and last tick times that are not times")
    if type(version.key) is not str:
        raise ValueError(f"version {number} of {version.day} has a key that is not text")
    return version


_COMPACT = (",", ":")
_SEGMENT_FIELDS = tuple(f.name for f in dataclasses.fields(Segment) if f.name != "encoding")
_VERSION_FIELDS = tuple(
    f.name for f in dataclasses.fields(Version) if f.name not in ("types", "segments", "kind", "metadata", "encoding")
)
