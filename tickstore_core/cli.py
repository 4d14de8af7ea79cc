"""The ``tickstore`` command line: inspect, query, load, migrate and maintain stores.

Every command takes ``--store TARGET`` (a URL, a path or a configured store's name; default:
``TICKSTORE_URL``, the config file's default store, or the local default store). Credentials come
from the environment and the SDKs' credential chains, never from the command line. Errors print
one line saying what to do and exit with status 2; ``fsck`` exits with 1 when it finds problems.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import sys
import traceback
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

from . import __version__
from . import cli_lifecycle as lifecycle_commands
from .cli_lifecycle import check_known
from .config import open_store
from .errors import InvalidInputError, TickstoreError, UnreadableIndexWarning
from .plugins import get_registry

if TYPE_CHECKING:  # pandas, numpy and pyarrow load only in the commands that need them
    import pandas as pd

    from .store import Tickstore

__all__ = ["main"]

DESCRIPTION = "The tickstore command line: inspect, query, load, copy and maintain tick stores."
STORE_HELP = """\
The store (--store/-s, before or after the command) is a URL (s3://bucket/db,
az://container/db, file:///data/db, memory://name), a path, or the name of a store
in the config file. Default: TICKSTORE_URL if it is set and not empty, else the config
file's default store, else the local default store. Credentials come from the
environment and the SDKs' credential chains, never from the command line.
"""
TIMES_HELP = """\
Times (START, END, --as-of, DAY); a time without an offset is UTC:
  2024-03-05              a day; as END, the whole day
  2024-03                 a month; as END, the whole month
  2024                    a year; as END, the whole year
  2024-03-05 09:30        a minute; as END, up to the end of that minute
  2024-03-05T09:30:00.25  an exact time; add Z or +01:00 for an offset
  tag:NAME                (--as-of) the time a tag pins (`tickstore tag ls`)
START and END are both inclusive.
"""
ERRORS_HELP = """\
Errors print one line, "tickstore: error: ...", and exit with status 2; fsck exits
with 1 when it finds problems. -v also prints the traceback and logs what happens.
"""


def _store(args: argparse.Namespace, target: str | None = None, **options: Any) -> Tickstore:
    if args.no_progress:
        options["progress"] = False
    return open_store((target if target is not None else args.store) or None, **options)


def _duration(text: str) -> dt.timedelta:
    from .times import to_duration  # pandas: not imported for --help

    try:  # 0, seconds, 30m, 1h, 2d or what pandas reads ("1h30min"), as the Python API takes them
        return to_duration(text[:-1] + "D" if text.endswith("d") else text, "the duration")
    except InvalidInputError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a duration; use e.g. 0, 30m, 1h, 2d") from None


def _columns(text: str) -> list[str]:
    return [c.strip() for c in text.split(",") if c.strip()]


def _print_frame(frame: pd.DataFrame) -> None:
    import pandas as pd

    with pd.option_context("display.width", 160, "display.max_columns", 20, "display.max_rows", 40):
        print(frame.to_string() if len(frame) <= 40 else frame)


# --- commands --------------------------------------------------------------------------------------


def cmd_ls(args: argparse.Namespace) -> int:
    """Every symbol (or those named) with its days and sizes (current versions).

    A symbol whose index cannot be read is reported as a warning, and the exit status is 1.
    """
    with _store(args) as store, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UnreadableIndexWarning)
        check_known(store, args.symbols)
        summary = store.summary(args.symbols or None)
        url = store.backend.url
    unreadable = [w for w in caught if issubclass(w.category, UnreadableIndexWarning)]
    for warning in unreadable:
        print(f"warning: {warning.message}", file=sys.stderr)
    status = 1 if unreadable else 0
    if summary.empty:
        print(f"{url}: no {'readable ' if unreadable else ''}symbols")
        return status
    print(url)
    shown = summary.astype(object).where(summary.notna(), "?")  # a serenity store keeps no sizes
    print(shown.to_string())  # every row: a listing is no place for "..."
    return status


def cmd_history(args: argparse.Namespace) -> int:
    """Every version of a symbol (or of one day) with its transaction times."""
    with _store(args) as store:
        check_known(store, [args.symbol])
        history = store.history(args.symbol, args.day, as_of=args.as_of)
        columns = ["day", "version", "start_time", "end_time", "recorded_at", "rows", "bytes", "kind", "checksum"]
        if history["metadata"].notna().any():
            columns.append("metadata")
        shown = _readable_times(history[columns])
        _print_frame(shown.set_index(["day", "version"]) if len(shown) else shown)
    return 0


def _readable_times(history: pd.DataFrame) -> pd.DataFrame:
    """Transaction times with the open ends named: "beginning of time" and "current", not 1677 and 2262."""
    import pandas as pd

    from .times import TIME_MAX, TIME_MIN

    shown: pd.DataFrame = history.copy()
    for column, end, name in (("start_time", TIME_MIN, "beginning of time"), ("end_time", TIME_MAX, "current")):
        times = shown[column].astype(object)
        shown[column] = times.where(shown[column] != pd.Timestamp(end, tz="UTC"), name)
    return shown


def cmd_select(args: argparse.Namespace) -> int:
    """Ticks of a symbol between START and END (inclusive), optionally as of a transaction time."""
    path = None if args.output is None else _output_path(args.output)
    with _store(args) as store:
        ticks = store.select(args.symbol, args.start, args.end, as_of=args.as_of, columns=args.columns)
        if ticks.empty:  # a typo must not look like a range without ticks
            check_known(store, [args.symbol])
    return _show(ticks, path, index=True)


def cmd_sql(args: argparse.Namespace) -> int:
    """Run a DuckDB SQL query over the store: FROM ticks('SYMBOL', 'START', 'END') reads ticks.

    Example: tickstore sql "SELECT side, sum(size) FROM ticks('BTCUSD', '2024-03-04', '2024-03-08') GROUP BY side"
    Needs DuckDB: pip install "tickstore[sql]".
    """
    path = None if args.output is None else _output_path(args.output)
    with _store(args) as store:
        result = store.sql(args.query, as_of=args.as_of)
    return 0 if result is None else _show(result, path, index=False)


def _show(frame: pd.DataFrame, path: Path | None, *, index: bool) -> int:
    """Print ``frame`` (its rows counted on stderr), or write it to ``path`` (.parquet or .csv)."""
    if path is None:
        _print_frame(frame)
        print(f"{len(frame):,} rows", file=sys.stderr)
        return 0
    if path.suffix.lower() == ".parquet":
        frame.to_parquet(path, index=index)
    else:
        frame.to_csv(path, index=index)
    print(f"wrote {len(frame):,} rows to {path}", file=sys.stderr)
    return 0


def _output_path(name: str) -> Path:
    """The file select writes to, checked before anything is read."""
    path = Path(name).expanduser()
    if path.suffix.lower() not in (".parquet", ".csv"):
        raise InvalidInputError(f"cannot write {path.name}: use a .parquet or .csv file name")
    if not path.parent.is_dir():
        raise InvalidInputError(f"cannot write {path}: the directory {path.parent} does not exist; create it first")
    return path


TimeUnit = Literal["s", "ms", "us", "ns"]
TIME_UNITS: tuple[TimeUnit, ...] = ("s", "ms", "us", "ns")
_TIME_HINT = "use ISO 8601 times such as 2024-03-05T09:30:00.25Z, or epoch numbers with --time-unit"


def read_ticks_file(path: Path, timestamp_column: str | None, time_unit: TimeUnit | None = None) -> pd.DataFrame:
    """Ticks from a Parquet or CSV file, indexed by their timestamp column.

    Suffixes are case-insensitive. Times are ISO 8601 text, or epoch numbers in ``time_unit``
    (s, ms, us or ns). A file that cannot be read raises :class:`InvalidInputError` naming the file,
    the line or row, and what to fix.
    """
    import pandas as pd

    if not path.exists():
        raise InvalidInputError(f"{path} does not exist")
    if not path.is_file():
        raise InvalidInputError(f"{path} is not a file; give a .parquet or .csv file of ticks")
    kind = path.suffix.lower()
    if kind == ".parquet":
        frame = _read_parquet(path)
        if isinstance(frame.index, pd.DatetimeIndex):
            return frame
        where = "row"
    elif kind == ".csv":
        frame = _read_csv(path)
        where = "line"
    else:
        raise InvalidInputError(f"cannot read {path.name}: use a .parquet or .csv file")
    column = timestamp_column or next(
        (c for c in frame.columns if str(c).lower() in ("time", "timestamp", "date", "datetime")), None
    )
    if column is None or column not in frame.columns:
        raise InvalidInputError(
            f"{path.name} has no timestamp column {column or '(time/timestamp/date)'}; name it with --timestamp-column"
        )
    frame[column] = _parse_times(frame[column], f"{path} {where}", 2 if where == "line" else 1, time_unit)
    indexed: pd.DataFrame = frame.set_index(column)
    return indexed


def _read_parquet(path: Path) -> pd.DataFrame:
    import pandas as pd
    import pyarrow as pa

    try:
        return pd.read_parquet(path)
    except (pa.ArrowException, ValueError) as exc:
        raise InvalidInputError(
            f"{path} is not a readable Parquet file ({_first_line(exc)}); write it with pandas' to_parquet, "
            "or use a .csv file"
        ) from exc


def _read_csv(path: Path) -> pd.DataFrame:
    import io

    import pandas as pd

    data = path.read_bytes()
    if not data.strip():
        raise InvalidInputError(f"{path} is empty; a CSV of ticks needs a header line and one line per tick")
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InvalidInputError(
            f"{path} line {line}: byte 0x{data[exc.start]:02x} is not UTF-8 text; save the file as UTF-8 CSV"
        ) from exc
    try:
        frame = pd.read_csv(io.BytesIO(data), encoding="utf-8-sig")
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise InvalidInputError(
            f"{path} is not a valid CSV file ({_first_line(exc)}); check the quotes and the number of "
            "fields on that line"
        ) from exc
    if not isinstance(frame.index, pd.RangeIndex):  # pandas takes the extra leading fields as an index
        raise InvalidInputError(
            f"{path} line 2 has more fields than the header line names; give every column a name in the header"
        )
    return frame


def _parse_times(values: pd.Series, where: str, first: int, unit: TimeUnit | None) -> pd.Series:
    """``values`` as UTC timestamps; the first bad value is reported as ``where`` + its line/row number."""
    import pandas as pd

    def refuse(position: int, problem: str) -> InvalidInputError:
        value = values.iloc[position]
        if pd.isna(value):
            return InvalidInputError(f"{where} {position + first}: {values.name} is empty; every tick needs a time")
        return InvalidInputError(f"{where} {position + first}: {values.name}={value!r} {problem}")

    if isinstance(values.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_dtype(values.dtype):
        parsed = pd.to_datetime(values, utc=True)
    elif unit is not None:
        numbers = pd.to_numeric(values, errors="coerce")
        bad = numbers.isna()
        if bad.any():
            raise refuse(int(bad.to_numpy().argmax()), f"is not an epoch number in {unit}")
        try:
            parsed = pd.to_datetime(numbers, unit=unit, utc=True)
        except (ValueError, OverflowError) as exc:
            raise InvalidInputError(
                f"{where}: {values.name} holds epoch numbers outside the years 1677-2262 in {unit} "
                f"({_first_line(exc)}); check --time-unit"
            ) from exc
    elif pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values.dtype):
        raise InvalidInputError(
            f"{where.rsplit(' ', 1)[0]}: column {values.name} holds numbers, not times; if they are epoch times, "
            f"give their unit with --time-unit {', '.join(TIME_UNITS)}"
        )
    else:
        parsed = pd.to_datetime(values, utc=True, format="ISO8601", errors="coerce")
    bad = parsed.isna()
    if bad.any():
        raise refuse(int(bad.to_numpy().argmax()), f"is not a time; {_TIME_HINT}")
    return parsed


def _first_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def cmd_insert(args: argparse.Namespace) -> int:
    """Insert ticks from a Parquet or CSV file: a new version of each day they fall on."""
    ticks = read_ticks_file(Path(args.file), args.timestamp_column, args.time_unit)
    with _store(args) as store:
        versions = store.insert(args.symbol, ticks, day=args.day)
    for version in versions:
        print(f"{args.symbol} {version.day} version {version.version}: {version.rows:,} rows")
    return 0


def cmd_delete(args: argparse.Namespace) -> int:
    """End the current version of a day: it reads as empty from now on, and stays in history."""
    with _store(args) as store:
        ended = store.delete(args.symbol, args.day)
    print(f"{args.symbol} {args.day}: " + (f"version {ended.version} ended" if ended else "nothing current to delete"))
    return 0


def cmd_cache(args: argparse.Namespace) -> int:
    """The local cache: statistics, clearing it, or warming it for offline work."""
    with _store(args, cache=True) as store:
        assert store.cache is not None
        if args.action == "stats":
            for key, value in store.cache_stats().items():
                print(f"{key:>18}: {value:,}" if isinstance(value, int) else f"{key:>18}: {value}")
        elif args.action == "clear":
            print(f"removed {store.cache.clear():,} entries from {store.cache.directory}")
        elif args.action in ("pin", "unpin"):
            if not args.symbol or args.start or args.end:
                raise InvalidInputError(f"cache {args.action} needs one TAG")
            if args.action == "pin":
                print(f"tag {args.symbol}: {store.pin(args.symbol):,} bytes pinned in {store.cache.directory}")
            else:
                print(f"tag {args.symbol}: {store.unpin(args.symbol):,} entries unpinned")
        else:
            if not args.symbol:
                raise InvalidInputError("cache prefetch needs SYMBOL [START END]")
            fetched = store.prefetch(args.symbol, args.start, args.end)
            print(f"{args.symbol}: {fetched:,} bytes cached in {store.cache.directory}")
    return 0


def cmd_copy(args: argparse.Namespace) -> int:
    """Copy symbols with every version and transaction time to another store; run again to resume.

    Also ``import``: the source may be a store written by serenity's tick store (a directory with
    ``index.h5``, or ``az://<container>`` with its ``index`` blob), copied with the times and
    deletes its index records.
    """
    from .migrate import copy_store

    with _store(args, args.source) as source:
        check_known(source, args.symbols)
        zone = {} if "tz=" in urlsplit(args.destination).query else {"tz": source.tz}  # a tz given: copy checks it
        with _store(args, args.destination, **zone) as destination:
            report = copy_store(source, destination, args.symbols, progress=None if not args.no_progress else False)
    for symbol in sorted(report.copied):
        print(f"{symbol}: {report.copied[symbol]} versions copied, {report.skipped[symbol]} already there")
    print(f"copied {report.versions_copied} versions ({report.rows:,} rows), verified")
    for symbol, why in sorted(report.unreadable.items()):
        print(f"warning: {symbol} not copied: {why}", file=sys.stderr)
    return 1 if report.unreadable else 0


def cmd_gc(args: argparse.Namespace) -> int:
    """Orphan objects left by crashed writers: listed, or removed with --delete.

    Symbols whose index cannot be read are skipped (their objects are never removed), with a
    warning and exit status 1.
    """
    from .maintenance import DEFAULT_GRACE, gc

    with _store(args) as store, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UnreadableIndexWarning)
        orphans = gc(store, dry_run=not args.delete, grace=DEFAULT_GRACE if args.grace is None else args.grace)
    skipped = [w for w in caught if issubclass(w.category, UnreadableIndexWarning)]
    for warning in skipped:
        print(f"warning: {warning.message}", file=sys.stderr)
    for meta in orphans:
        print(f"{'removed' if args.delete else 'orphan'} {meta.key} ({meta.size:,} bytes)")
    verb = "removed" if args.delete else "found (dry run; --delete removes them)"
    print(f"{len(orphans)} orphans {verb}", file=sys.stderr)
    return 1 if skipped else 0


def cmd_fsck(args: argparse.Namespace) -> int:
    """Check indexes against objects (sizes; checksums with --deep)."""
    from .maintenance import fsck

    with _store(args) as store:
        check_known(store, args.symbols)
        if not args.symbols:
            store.symbols()  # a missing store is an error (status 2), not a problem fsck found
        report = fsck(store, args.symbols or None, deep=args.deep)
    for problem in report.problems:
        print(f"problem: {problem}")
    checked = (
        f"{report.objects_verified} objects' checksums verified"
        if args.deep
        else "objects' presence and sizes checked (--deep also reads them: checksums, ticks and days)"
    )
    print(
        f"{report.symbols} symbols, {report.versions} versions, {checked}, "
        f"{len(report.orphans)} orphans: {'ok' if report.ok else f'{len(report.problems)} problems'}"
    )
    return 0 if report.ok else 1


def cmd_compact(args: argparse.Namespace) -> int:
    """Merge days made of many appended segments into one object each (no select changes)."""
    with _store(args) as store:
        return lifecycle_commands.compact(store, args)


def cmd_tag(args: argparse.Namespace) -> int:
    """Store-wide tags: `tag add NAME [--as-of T] [-m MSG]`, `tag ls`, `tag rm NAME`."""
    with _store(args) as store:
        return lifecycle_commands.tag(store, args)


def cmd_prune(args: argparse.Namespace) -> int:
    """Remove superseded versions (never current or tagged ones) and their objects; a dry run by default."""
    with _store(args) as store:
        return lifecycle_commands.prune(store, args)


def cmd_backends(args: argparse.Namespace) -> int:
    """The installed backends and their URL schemes."""
    registry = get_registry()
    for scheme, specs in sorted(registry.schemes.items()):
        for spec in specs:
            print(f"{scheme}://  {spec.name}  ({spec.distribution or 'unknown'})  {spec.description}")
    for name, error in sorted(registry.broken.items()):
        print(f"broken plugin {name}: {error}")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    """Run the demo job (synthetic BTCUSD trades, a correction, as-of selects)."""
    from .demo import main as demo

    demo([*(["--url", args.store] if args.store else []), "--days", str(args.days)])
    return 0


# --- parser ----------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    plain = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(
        prog="tickstore",
        description=DESCRIPTION,
        epilog=f"{STORE_HELP}\n{TIMES_HELP}\n{ERRORS_HELP}",
        formatter_class=plain,
    )
    parser.add_argument("--version", action="version", version=f"tickstore {__version__}")
    common = argparse.ArgumentParser(add_help=False)  # the same options after the command; the default stays unset
    for arguments in (parser, common):
        unset: dict[str, Any] = {} if arguments is parser else {"default": argparse.SUPPRESS}
        arguments.add_argument(
            "-s", "--store", help="URL, path or configured store name (default: TICKSTORE_URL, config, local)", **unset
        )
        arguments.add_argument(
            "-v", "--verbose", action="store_true", help="log what happens; show tracebacks", **unset
        )
        arguments.add_argument("--no-progress", action="store_true", help="never show progress bars", **unset)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, handler: Any, times: bool = False, aliases: Sequence[str] = ()) -> argparse.ArgumentParser:
        sub = commands.add_parser(
            name,
            aliases=list(aliases),
            parents=[common],
            help=handler.__doc__.splitlines()[0],
            description=handler.__doc__,
            epilog=TIMES_HELP if times else None,
            formatter_class=plain,
        )
        sub.set_defaults(handler=handler)
        return sub

    command("ls", cmd_ls).add_argument("symbols", nargs="*")
    sub = command("history", cmd_history, times=True)
    sub.add_argument("symbol")
    sub.add_argument("day", nargs="?", metavar="DAY")
    sub.add_argument("--as-of", dest="as_of", help="only versions known then (a time or tag:NAME)")
    sub = command("select", cmd_select, times=True)
    sub.add_argument("symbol")
    sub.add_argument("start", metavar="START")
    sub.add_argument("end", metavar="END")
    sub.add_argument("--as-of", dest="as_of")
    sub.add_argument("--columns", type=_columns, help="comma-separated column names")
    sub.add_argument("-o", "--output", help="write to FILE.parquet or FILE.csv instead of printing")
    sub = command("sql", cmd_sql, times=True)
    sub.add_argument("query", help="the SQL; ticks('SYMBOL'[, 'START'[, 'END']]) is a table of ticks")
    sub.add_argument("--as-of", dest="as_of", help="read every ticks(...) as of this transaction time")
    sub.add_argument("-o", "--output", help="write to FILE.parquet or FILE.csv instead of printing")
    sub = command("insert", cmd_insert, times=True)
    sub.add_argument("symbol")
    sub.add_argument("file", help="a .parquet or .csv file of ticks")
    sub.add_argument("--day", help="the day the ticks belong to (required for an empty file)")
    sub.add_argument("--timestamp-column", help="the file's timestamp column (default: time/timestamp/date)")
    sub.add_argument("--time-unit", choices=TIME_UNITS, help="the unit of epoch-number times (default: ISO 8601 text)")
    sub = command("delete", cmd_delete, times=True)
    sub.add_argument("symbol")
    sub.add_argument("day")
    sub = command("cache", cmd_cache, times=True)
    sub.add_argument("action", choices=["stats", "clear", "prefetch", "pin", "unpin"])
    sub.add_argument("symbol", nargs="?", help="SYMBOL to prefetch, or TAG to pin or unpin")
    sub.add_argument("start", nargs="?")
    sub.add_argument("end", nargs="?")
    sub = command("copy", cmd_copy, aliases=["import"])
    sub.add_argument("source", help="URL, path or name of the store to copy from")
    sub.add_argument("destination", help="URL, path or name of the store to copy to")
    sub.add_argument("--symbols", nargs="+", help="only these symbols (default: all)")
    sub = command("gc", cmd_gc)
    sub.add_argument("--delete", action="store_true", help="remove the orphans (default: only list them)")
    sub.add_argument("--grace", type=_duration, help="ignore objects younger than this (1h)")
    sub = command("fsck", cmd_fsck)
    sub.add_argument("symbols", nargs="*")
    sub.add_argument("--deep", action="store_true", help="also read every object: its checksum, ticks and day")
    sub = command("compact", cmd_compact, times=True)
    sub.add_argument("symbol", nargs="?", help="only this symbol (default: all)")
    sub.add_argument("start", nargs="?", metavar="START")
    sub.add_argument("end", nargs="?", metavar="END")
    sub = command("tag", cmd_tag, times=True)
    sub.add_argument("action", choices=["add", "ls", "rm"])
    sub.add_argument("name", nargs="?", metavar="NAME")
    sub.add_argument("--as-of", dest="as_of", help="the transaction time to pin (default: now)")
    sub.add_argument("-m", "--message", default="", help="why (e.g. the paper it reproduces)")
    sub = command("prune", cmd_prune, times=True)
    sub.add_argument("--symbol", help="only this symbol (default: all)")
    sub.add_argument("--before", help="only versions whose validity ended by this transaction time")
    sub.add_argument("--keep-versions", type=int, help="keep this many newest versions of each day")
    sub.add_argument("--delete", action="store_true", help="prune (default: only report what would go)")
    sub.add_argument("--grace", type=_duration, help="keep dropped objects this long for readers (1h)")
    command("backends", cmd_backends)
    command("demo", cmd_demo).add_argument("--days", type=int, default=21, help="days of trades (at least 1)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; user errors print ``tickstore: error: ...`` (one line) and return 2."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING, format="%(levelname)s %(message)s")
    try:
        return int(args.handler(args))
    except BrokenPipeError:  # the reader went away (`tickstore ls | head`): nothing to report
        _silence_stdout()
        return 0
    except (TickstoreError, OSError) as exc:  # what the user can fix; anything else is a bug, with its traceback
        if args.verbose:
            traceback.print_exc()
        print(f"tickstore: error: {_error_line(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; run the same command again to resume where it makes sense (copy does)", file=sys.stderr)
        return 130


def _silence_stdout() -> None:
    """Point stdout at /dev/null, so that flushing it at exit does not fail on the closed pipe again."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # not a real file descriptor (captured output): nothing to flush into a pipe
        pass


def _error_line(exc: BaseException) -> str:
    """The error as one line; a filesystem error names its file without Python's errno noise."""
    if isinstance(exc, OSError) and not isinstance(exc, TickstoreError) and exc.strerror:
        where = f"{exc.filename}: " if exc.filename else ""
        return f"{where}{exc.strerror}"
    return _first_line(exc)


if __name__ == "__main__":
    sys.exit(main())
