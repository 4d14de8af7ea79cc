"""A tag made while a prune runs keeps the history it pins, whichever of the two commits first.

The prune reads the tags, then commits; the tag checks every symbol's pruned history, then commits.
Each checks again after its own commit: the tag withdraws itself if a prune committed meanwhile,
the prune puts back the versions valid at a tag made meanwhile (before deleting their objects).
Both tests fail on eecd200 (the tag's history is pruned).
"""

from __future__ import annotations

import pandas as pd
import pytest

import tickstore_core.lifecycle_api as lifecycle_api
from tickstore_core import PrunedError, open_store
from tickstore_core.lifecycle_api import LifecycleAPI


def _ticks(price: float) -> pd.DataFrame:
    return pd.DataFrame({"price": [price]}, index=pd.DatetimeIndex(["2024-03-04 10:00"], tz="UTC", name="time"))


@pytest.fixture
def stores(store_location):
    """Two store objects on one location (the tagger, the pruner) and a time when version 0 (price 1.0)
    was the truth, before version 1 (price 2.0)."""
    url, options = store_location()
    with open_store(url, **options) as tagger, open_store(url, **options) as pruner:
        (first,) = tagger.insert("HOT", _ticks(1.0))
        tagger.insert("HOT", _ticks(2.0))
        yield tagger, pruner, pd.Timestamp(first.recorded_at, tz="UTC")


def test_a_prune_that_commits_between_the_tag_s_check_and_its_write_withdraws_the_tag(stores, monkeypatch):
    tagger, pruner, pinned = stores
    write = LifecycleAPI._change_tags
    calls = []

    def prune_then_write(self, change):
        calls.append(change)
        if len(calls) == 1:  # the tag has checked; the prune, which read no tag, commits first
            pruner.prune(keep_versions=0, grace=0, dry_run=False)
        write(self, change)

    monkeypatch.setattr(LifecycleAPI, "_change_tags", prune_then_write)
    with pytest.raises(PrunedError, match="cannot tag"):
        tagger.tag("paper", as_of=pinned)
    assert tagger.tags().empty
    assert tagger.select("HOT")["price"].tolist() == [2.0]


def test_a_tag_written_while_the_prune_runs_keeps_the_versions_it_pins(stores, monkeypatch):
    tagger, pruner, pinned = stores
    plan = lifecycle_api.plan_prune
    calls = []

    def plan_then_tag(index, **kwargs):
        planned = plan(index, **kwargs)
        calls.append(index.symbol)
        if len(calls) == 2:  # inside the commit: the prune has read the tags; the tag is made now
            tagger.tag("paper", as_of=pinned)
        return planned

    monkeypatch.setattr(lifecycle_api, "plan_prune", plan_then_tag)
    pruner.prune(keep_versions=0, grace=0, dry_run=False)
    monkeypatch.undo()
    assert list(tagger.tags().index) == ["paper"]
    assert tagger.select("HOT", as_of="tag:paper")["price"].tolist() == [1.0]
    assert len(tagger.history("HOT")) == 2
    pruner.prune(keep_versions=0, grace=0, dry_run=False)  # the tag now protects it in the plan itself
    assert tagger.select("HOT", as_of="tag:paper")["price"].tolist() == [1.0]
