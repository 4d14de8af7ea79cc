"""What a commit costs in requests: a writer commits on the index it wrote last without reading it again,
and what it plans on an index another writer has since changed is planned again on the new one."""

from __future__ import annotations

import collections
import datetime as dt
from collections.abc import Callable
from typing import Any

import pandas as pd
import pytest

import tickstore_core as ts
from tickstore_core.errors import PrunedError
from tickstore_core.lifecycle import COMPACT_AT

DAY = dt.date(2024, 3, 4)


def _requests_by_key(backend: Any) -> collections.Counter[tuple[str, str]]:
    """Count ``backend``'s reads by (verb, first part of the key); patched in place."""
    calls: collections.Counter[tuple[str, str]] = collections.Counter()
    for verb in ("get", "get_range", "head"):
        real: Callable[..., Any] = getattr(backend, verb)

        def request(key: str, *args: Any, _real: Callable[..., Any] = real, _verb: str = verb, **kw: Any) -> Any:
            calls[(_verb, key.split("/")[0])] += 1
            return _real(key, *args, **kw)

        setattr(backend, verb, request)
    return calls


def _ticks(first: int, count: int) -> pd.DataFrame:
    times = pd.Timestamp(DAY, tz="UTC") + pd.to_timedelta(range(first, first + count), unit="s")
    return pd.DataFrame({"price": [1.0 + i for i in range(count)]}, index=pd.DatetimeIndex(times, name="time"))


def test_a_writer_commits_again_without_reading_the_index_it_wrote(store_location) -> None:
    url, options = store_location()
    with ts.open_store(url, **options) as store:
        store.append("X", _ticks(0, 1))
        calls = _requests_by_key(store.backend)
        for i in range(1, 4):
            store.append("X", _ticks(i, 1))
        if store.engine.layout.version_named:  # the local layout commits under a lock, reading the index there
            return
        assert not [k for k in calls if k[1] == store.engine.layout.index_key("X").split("/")[0]]
        assert len(store.select("X")) == 4


def test_a_commit_on_an_index_another_writer_changed_is_made_on_the_new_one(shared_store_location) -> None:
    url, options = shared_store_location()
    with ts.open_store(url, **options) as first, ts.open_store(url, **options) as second:
        first.append("X", _ticks(0, 1))
        second.append("X", _ticks(1, 1))
        first.append("X", _ticks(2, 1))  # its remembered index is stale: the conditional put fails, it re-plans
        second.delete("X", DAY)
        assert first.delete("X", DAY) is None  # planned as a delete on its own index, a no-op on the current one
        history = first.history("X")
    assert history.rows.tolist()[:3] == [1, 2, 3] and len(history) == 3


def test_an_error_planned_on_a_stale_index_is_decided_again(shared_store_location) -> None:
    url, options = shared_store_location()
    early, later = pd.Timestamp("2024-03-10", tz="UTC"), pd.Timestamp("2024-03-11", tz="UTC")
    with ts.open_store(url, **options) as first, ts.open_store(url, **options) as second:
        first.insert("X", _ticks(0, 2), as_of=later)
        second.delete("X", DAY)
        # on what `first` wrote last, a delete as of before the current version is an error; on the store
        # as it is, the day has no current version: nothing to delete
        assert first.delete("X", DAY, as_of=early) is None
        assert first.select("X").empty


@pytest.mark.parametrize("cached", [True, False], ids=["cache", "no-cache"])
@pytest.mark.parametrize("backend", ["s3", "azure"])
def test_appended_segments_are_read_back_for_compaction_without_a_request(request, tmp_path, backend, cached) -> None:
    emulated = request.getfixturevalue(f"{backend}_store")
    url, options = f"{emulated.url.rstrip('/')}/kept-{cached}", dict(emulated.options)
    caching = {"cache_dir": str(tmp_path / "cache")} if cached else {"cache": False}
    with ts.open_store(url, **caching, **options) as store:
        for i in range(COMPACT_AT - 1):
            store.append("X", _ticks(i, 1))
        store.flush()
        calls = _requests_by_key(store.backend)
        store.append("X", _ticks(COMPACT_AT, 1))  # the 32nd segment: the day is compacted
        assert store.history("X").kind.iloc[-1] == "compaction"
        assert calls[("get", "data")] == 0  # every segment read back from memory
        assert store.select("X").price.tolist() == [1.0] * COMPACT_AT


def test_a_version_pruned_while_it_is_read_is_a_pruned_error(store_location) -> None:
    url, options = store_location()
    with ts.open_store(url, **options) as store:
        store.insert("X", _ticks(0, 3))
        (first,) = store.engine.index("X")
        store.insert("X", _ticks(0, 4), day=DAY)  # a correction: the first version is superseded
        store.prune(symbol="X", before=pd.Timestamp.now(tz="UTC"), dry_run=False, grace=dt.timedelta(0))
        with pytest.raises(PrunedError, match="pruned while it was read"):
            store.engine.read_version("X", first, None)  # a reader that planned before the prune
