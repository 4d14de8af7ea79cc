"""Copies rerun after the source compacted or pruned, tags copied, and the command line's typos refused.

Each test fails on 08c713d: a rerun copy refused a source whose history had compacted or pruned
versions since, tags stayed behind, a destination URL's tz was overridden, and unknown symbols or
stores passed as empty.
"""

from __future__ import annotations

import time

import pandas as pd
import pytest

from tickstore_core import open_store
from tickstore_core.cli import main
from tickstore_core.maintenance import fsck
from tickstore_core.migrate import CopyConflictError, copy_store


def _row(when: str, price: float) -> pd.DataFrame:
    return pd.DataFrame({"price": [price]}, index=pd.DatetimeIndex([when], tz="UTC", name="time"))


def _same_everywhere(source, destination, times) -> None:
    for as_of in [None, *times]:
        pd.testing.assert_frame_equal(destination.select("A", as_of=as_of), source.select("A", as_of=as_of))


def test_a_copy_reruns_after_the_source_compacted_and_pruned(store_location):
    url, options = store_location()
    source, destination = open_store(url, **options), open_store(f"memory://copy-{time.time_ns()}")
    source.append("A", _row("2024-03-04 10:00", 1.0))
    source.append("A", _row("2024-03-04 11:00", 2.0))
    assert copy_store(source, destination).versions_copied == 2
    source.append("A", _row("2024-03-05 10:00", 3.0))
    source.compact("A")  # the 4th's appended version 1 is replaced by a compaction: version 2, same times
    assert [*source.history("A", "2024-03-04").version] == [0, 2]
    times = [pd.Timestamp.now(tz="UTC")]
    report = copy_store(source, destination)
    assert report.versions_copied == 2
    assert [*destination.history("A", "2024-03-04").version] == [0, 2]
    _same_everywhere(source, destination, times)
    time.sleep(0.01)
    source.insert("A", _row("2024-03-04 12:00", 9.0), day="2024-03-04")
    source.prune(dry_run=False, grace=0)
    source.insert("A", _row("2024-03-06 12:00", 5.0))
    assert copy_store(source, destination).versions_copied == 2
    _same_everywhere(source, destination, [pd.Timestamp.now(tz="UTC")])
    assert fsck(destination, deep=True).ok
    source.close()


def test_a_copy_takes_the_tags_and_refuses_one_named_for_another_time(store_location):
    url, options = store_location()
    source, destination = open_store(url, **options), open_store(f"memory://tags-{time.time_ns()}")
    source.insert("A", _row("2024-03-04 10:00", 1.0))
    time.sleep(0.01)
    source.tag("before", message="the first price")
    source.insert("A", _row("2024-03-04 10:00", 2.0))
    copy_store(source, destination)
    assert destination.select("A", as_of="tag:before").price.tolist() == [1.0]
    assert destination.tags().loc["before", "message"] == "the first price"
    copy_store(source, destination)  # again: the same tag is no conflict
    other = open_store(f"memory://other-{time.time_ns()}")
    other.insert("A", _row("2024-03-04 09:00", 0.5))
    other.tag("before")
    with pytest.raises(CopyConflictError, match="tag 'before'"):
        copy_store(source, other)
    source.close()


def _cli(*argv: str) -> int:
    try:
        return main(list(argv))
    except SystemExit as exit_:
        return int(exit_.code or 0)


def test_the_command_line_refuses_typos_and_keeps_a_destinations_tz(tmp_path, capsys):
    source = f"file://{tmp_path}/source"
    with open_store(source) as store:
        store.insert("A", _row("2024-03-04 10:00", 1.0))
    assert _cli("copy", source, f"file://{tmp_path}/london?tz=Europe/London") == 2
    assert "Europe/London" in capsys.readouterr().err
    assert not (tmp_path / "london" / "_index").exists()
    for argv in (("copy", source, f"file://{tmp_path}/copy", "--symbols", "NOPE"), ("-s", source, "compact", "NOPE")):
        assert _cli(*argv) == 2
        assert "unknown symbol NOPE" in capsys.readouterr().err
    assert _cli("-s", source, "prune", "--symbol", "NOPE") == 2
    assert _cli("-s", f"file://{tmp_path}/nosuch", "tag", "ls") == 2
    assert "does not exist" in capsys.readouterr().err
    for grace in ("0", "30min", "90", "2d"):
        assert _cli("-s", source, "prune", "--grace", grace) == 0
    assert _cli("-s", source, "prune", "--grace", "soon") == 2
