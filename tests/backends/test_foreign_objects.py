"""Objects a store did not write, in its location: another store below it, files others dropped there.

Each test failed on c0501d7: ``destroy`` deleted a backup copied below the store, and a file named
as no store object can be (a space in its name) beside the indexes made ``symbols`` list it, made
``summary``, ``fsck`` and ``gc`` raise a raw ``InvalidKeyError`` and stopped ``destroy`` half-way;
the zero-byte "folder" blob some Azure tools create stopped ``destroy`` too.
"""

from __future__ import annotations

import datetime as dt
import warnings

import pytest

from emulators.raw import raw_access
from tickstore_core import TickstoreWarning, open_store
from tickstore_core.maintenance import fsck, gc
from tickstore_core.migrate import copy_store
from tickstore_core.testing import make_ticks

D1 = dt.date(2024, 3, 4)


def test_destroy_leaves_a_store_copied_below_it(shared_store_location):
    url, options = shared_store_location()
    with open_store(url, **options) as store, open_store(f"{url}/backup", **options) as backup:
        store.insert("X", make_ticks(D1, 50))
        copy_store(store, backup)
    with open_store(url, **options) as store, pytest.warns(TickstoreWarning, match="the store at backup/"):
        store.destroy()
    with open_store(f"{url}/backup", **options) as backup:
        assert len(backup.select("X")) == 50 and fsck(backup, deep=True).ok
    with open_store(url, **options) as store:
        store.insert("Y", make_ticks(D1, 5))  # the location is a store again
        assert store.symbols() == ["Y"]


def test_files_others_put_in_a_store_break_nothing(shared_store_location):
    url, options = shared_store_location()
    raw_get, raw_put = raw_access(url, options)
    with open_store(url, **options) as store:
        store.insert("X", make_ticks(D1, 50))
        raw_put("_index/old index.json", b"{}")  # a name no index has: a space
        raw_put("notes/read me.txt", b"not ticks")
        if url.startswith("az://"):
            raw_put("", b"")  # the "folder" blob <prefix>/ that Azure tools make
        assert store.symbols() == ["X"]
        assert store.summary().index.tolist() == ["X"]
        assert fsck(store).ok
        assert gc(store, dry_run=False, grace=dt.timedelta(0)) == []
        assert len(store.select("X")) == 50
        with warnings.catch_warnings(record=True) as said:
            warnings.simplefilter("always")
            store.destroy()
    assert raw_get("notes/read me.txt") == b"not ticks"  # left
    if not url.startswith("file:"):  # the local store does not list such names at all
        assert any("2 objects named as no store's object is" in str(w.message) for w in said)


def test_destroy_leaves_a_serenity_store_below_it(shared_store_location):
    url, options = shared_store_location()
    raw_get, raw_put = raw_access(url, options)
    with open_store(url, **options) as store:
        store.insert("X", make_ticks(D1, 5))
        raw_put("legacy/index.h5", b"serenity's index")  # what makes a prefix a serenity store
        raw_put("legacy/2024/03/04/L_0000.h5", b"serenity's day")
        with pytest.warns(TickstoreWarning, match="the store at legacy/"):
            store.destroy()
    assert raw_get("legacy/2024/03/04/L_0000.h5") == b"serenity's day"
