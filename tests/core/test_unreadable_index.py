"""One unreadable symbol index does not break commands over every symbol (issue 10, point 12).

``ls``, ``gc``, ``fsck``, ``copy`` and the notebook summary report that symbol and go on with the
others; gc never takes the objects of a symbol whose index it cannot read for orphans; and every
command a message suggests exists.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from pathlib import Path
from urllib.parse import urlencode

import pandas as pd
import pytest

import tickstore_core as ts
from tickstore_core import cli
from tickstore_core.errors import CorruptObjectError, UnreadableIndexWarning
from tickstore_core.maintenance import find_orphans, fsck, gc
from tickstore_core.migrate import copy_store
from tickstore_core.notebook import store_summary_html
from tickstore_core.testing import make_ticks

DAY = dt.date(2024, 3, 4)
NO_GRACE = dt.timedelta(0)
SECRET_OPTIONS = {
    "aws_access_key_id": "AWS_ACCESS_KEY_ID",
    "aws_secret_access_key": "AWS_SECRET_ACCESS_KEY",
    "aws_session_token": "AWS_SESSION_TOKEN",
    "connection_string": "AZURE_STORAGE_CONNECTION_STRING",
}


def _store_with_a_broken_symbol(store: ts.Tickstore) -> tuple[str, list[str]]:
    """Symbols A (healthy, plus one orphan) and B (index damaged); returns (A's orphan, B's objects)."""
    store.insert("A", make_ticks(DAY, 50, seed=1))
    store.insert("B", make_ticks(DAY, 50, seed=2))
    store.insert("B", make_ticks(DAY, 40, seed=3), day=DAY)
    b_objects = list(store.history("B")["key"])
    orphan = store.layout.data_key("A", DAY, 9, "1867a2b3c4d5e6f7-0123456789ab-0", store.codec.suffix)
    store.backend.put(orphan, store.backend.get(store.history("A")["key"][0]))  # a crashed writer's real bytes
    store.backend.put(store.layout.index_key("B"), b'{"format": "tickstore-index/1", "versi', mode="overwrite")
    store.flush()
    return orphan, b_objects


def _keys(store: ts.Tickstore) -> set[str]:
    return {meta.key for meta in store.backend.list("")}


def test_gc_skips_a_symbol_whose_index_cannot_be_read_and_removes_the_others_orphans(store_location):
    url, options = store_location()
    with ts.open_store(url, **options) as store:
        orphan, b_objects = _store_with_a_broken_symbol(store)
        with pytest.warns(UnreadableIndexWarning, match=r"B skipped: index .*_index/B.json cannot be read") as caught:
            assert [meta.key for meta in find_orphans(store, NO_GRACE)] == [orphan]
        assert "gc leaves every object of B alone" in str(caught[0].message)
        with pytest.warns(UnreadableIndexWarning):
            removed = gc(store, dry_run=False, grace=NO_GRACE)
        assert [meta.key for meta in removed] == [orphan]
        assert orphan not in _keys(store) and set(b_objects) <= _keys(store)
        assert len(store.select("A")) == 50


def test_fsck_reports_the_symbol_and_checks_the_others(store_location):
    url, options = store_location()
    with ts.open_store(url, **options) as store:
        orphan, _ = _store_with_a_broken_symbol(store)
        report = fsck(store, deep=True, grace=NO_GRACE)
        assert report.symbols == 2 and report.versions == 1 and report.objects_verified == 1
        (problem,) = report.problems
        assert problem.startswith("B: index") and "its objects were not checked" in problem
        assert [meta.key for meta in report.orphans] == [orphan]
        assert fsck(store, ["A"]).ok


def test_copy_copies_the_readable_symbols_and_lists_the_other(store_location):
    url, options = store_location()
    with (
        ts.open_store(url, **options) as store,
        ts.open_store(f"memory://copy-{uuid.uuid4().hex}") as destination,
    ):  # id() repeats
        _store_with_a_broken_symbol(store)
        report = copy_store(store, destination)
        assert report.copied == {"A": 1} and list(report.unreadable) == ["B"]
        assert destination.symbols() == ["A"]


def test_the_notebook_summary_shows_the_other_symbols(store_location):
    url, options = store_location()
    with ts.open_store(url, **options) as store:
        _store_with_a_broken_symbol(store)
        html = store_summary_html(store)
        assert "1 days" in html and "unreadable: index" in html


def _cli_url(url: str, options: dict, monkeypatch: pytest.MonkeyPatch) -> str:
    """The store as the command line names it: credentials in the environment, the rest in the query."""
    query = {}
    for name, value in options.items():
        if name in SECRET_OPTIONS:
            monkeypatch.setenv(SECRET_OPTIONS[name], str(value))
        else:
            query[name] = value
    return f"{url}?{urlencode(query)}" if query else url


def test_the_command_line_reports_the_symbol_and_goes_on(store_location, monkeypatch, capsys):
    url, options = store_location()
    if url.startswith("memory://"):
        pytest.skip("the command line opens its own process's stores; a memory store is not shared")
    with ts.open_store(url, **options) as store:
        orphan, b_objects = _store_with_a_broken_symbol(store)
        size = store.backend.head(orphan).size
    target = _cli_url(url, options, monkeypatch)

    assert cli.main(["--no-progress", "--store", target, "ls"]) == 1
    out, err = capsys.readouterr()
    assert re.search(r"^A\s+1\s", out, re.MULTILINE), out
    assert "warning: B: index" in err and "restore that file from a backup" in err

    assert cli.main(["--no-progress", "--store", target, "gc", "--grace", "0s", "--delete"]) == 1
    out, err = capsys.readouterr()
    assert out.strip() == f"removed {orphan} ({size:,} bytes)"
    assert "warning: B skipped" in err and "1 orphans removed" in err

    assert cli.main(["--no-progress", "--store", target, "fsck"]) == 1
    out, _ = capsys.readouterr()
    assert "problem: B: index" in out and "2 symbols, 1 versions" in out
    with ts.open_store(url, **options) as store:
        assert set(b_objects) <= _keys(store)


def test_reading_the_broken_symbol_says_what_to_do(store_location):
    url, options = store_location()
    with ts.open_store(url, **options) as store:
        _store_with_a_broken_symbol(store)
        with pytest.raises(CorruptObjectError, match="restore that file from a backup") as caught:
            store.select("B")
        assert "rebuild" not in str(caught.value)


def test_every_command_a_message_suggests_exists():
    """Any `tickstore COMMAND` quoted in the library's messages or docs is a real subcommand."""
    commands = set(cli.build_parser()._subparsers._group_actions[0].choices)
    root = Path(cli.__file__).parent
    sources = [*root.glob("*.py"), root.parent / "README.md", root.parent / "docs" / "guide.md"]
    suggested = {
        (path.name, match)
        for path in sources
        if path.exists()
        for match in re.findall(r"`tickstore ([a-z][a-z-]*)", path.read_text())
    }
    assert suggested, "the pattern should find the suggestions the messages make"
    unknown = {(name, command) for name, command in suggested if command not in commands}
    assert not unknown, f"messages suggest commands that do not exist: {sorted(unknown)}"
    assert "rebuild the index" not in (root / "index.py").read_text()


def test_a_damaged_index_does_not_hide_the_others_from_symbols_loops(store_location):
    url, options = store_location()
    with ts.open_store(url, **options) as store:
        _store_with_a_broken_symbol(store)
        assert store.symbols() == ["A", "B"]
        pd.testing.assert_frame_equal(store.select("A"), make_ticks(DAY, 50, seed=1), check_freq=False)
