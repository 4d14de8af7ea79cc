"""Conformance tests for the byte-level backend contract.

A backend package proves itself by subclassing `BackendConformance` in one of its test
modules and overriding the ``backend`` fixture to yield a fresh, empty backend::

    import pytest
    from tickstore_core.testing import BackendConformance

    class TestMyBackend(BackendConformance):
        @pytest.fixture
        def backend(self, tmp_path):
            with MyBackend.from_url(f"mystore://{tmp_path}") as backend:
                yield backend

Optional fixtures to override: ``backend_options`` (options ``from_url`` needs to reopen the
same store, such as an endpoint), ``secrets`` (strings that must never appear in a repr) and
class attribute ``listing_page_size`` (how many keys prove that pagination works).

Bypass hooks, so the suite can check what is really stored: override the fixtures ``raw_get``
(a callable ``key -> bytes`` reading the object's stored bytes) and ``raw_put`` (a callable
``(key, data) -> None`` storing bytes as the backend would find them), both WITHOUT going
through the backend under test: open the file under the root, call the service's own client,
query the database. They may use the ``backend`` fixture to learn where the store lives. Tests
that need a hook the class does not provide are skipped, saying which hook is missing::

    @pytest.fixture
    def raw_get(self, tmp_path):
        return lambda key: (tmp_path / "store" / key).read_bytes()
"""

from __future__ import annotations

import pickle
import threading
from collections.abc import Callable
from typing import Any

import pytest

from ..backend import Backend, IfMatch, ObjectMeta
from ..errors import (
    InvalidInputError,
    InvalidKeyError,
    ObjectExistsError,
    ObjectNotFoundError,
    PreconditionFailedError,
)
from .bypass import RawGet, RawPut, required

__all__ = ["BackendConformance"]


def _race(n: int, attempt: Callable[[int], Any]) -> list[Any]:
    """Run ``attempt(i)`` in ``n`` threads released at once; return results or exceptions."""
    barrier = threading.Barrier(n)
    results: list[Any] = [None] * n

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = attempt(i)
        except Exception as exc:  # noqa: BLE001 - the caller classifies outcomes
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


class BackendConformance:
    """The byte-level contract every backend must meet, as pytest tests a backend's test class inherits.

    Subclass it in a test module of the backend package and override the ``backend`` fixture to
    yield a fresh, empty backend; pytest then runs every ``test_*`` method against it: puts and
    gets, ``"create"`` and `IfMatch` races between threads, ordered and paginated listings, key
    checks, pickling, and that no ``repr`` or message shows a secret.

    Fixtures to override:

    - ``backend`` (required): a fresh, empty backend (yield it, and close it afterwards);
    - ``backend_options``: the options ``from_url`` needs to reopen the same store (an endpoint);
    - ``secrets``: strings that must never appear in a ``repr`` or a message;
    - ``raw_get`` and ``raw_put``: the bypass hooks (`tickstore_core.testing.bypass`), reading
      and writing stored bytes without the backend under test; tests needing a hook the class
      does not provide are skipped, saying which.

    Attributes
    ----------
    listing_page_size : int
        How many keys prove that listing pages through the service's results (1001).
    race_threads : int
        How many threads race for one ``"create"`` or `IfMatch` put (8).

    Examples
    --------
    In the backend package's ``tests/test_conformance.py``, run with ``pytest``:

    ```python
    import pytest
    from tickstore_core.testing import BackendConformance
    from tickstore_mystore import MyBackend


    class TestMyBackend(BackendConformance):
        listing_page_size = 120  # a service with small pages proves pagination with fewer keys

        @pytest.fixture
        def backend(self, tmp_path):
            with MyBackend.from_url(f"mystore://{tmp_path}/store") as backend:
                yield backend

        @pytest.fixture
        def raw_get(self, tmp_path):
            return lambda key: (tmp_path / "store" / key).read_bytes()
    ```
    """

    listing_page_size: int = 1001
    race_threads: int = 8

    @pytest.fixture
    def backend(self) -> Backend:
        raise NotImplementedError("override the 'backend' fixture to yield a fresh, empty backend")

    @pytest.fixture
    def backend_options(self) -> dict[str, Any]:
        return {}

    @pytest.fixture
    def secrets(self) -> list[str]:
        return []

    @pytest.fixture
    def raw_get(self) -> RawGet | None:
        """Reads a key's stored bytes without the backend under test; ``None`` skips the raw tests."""
        return None

    @pytest.fixture
    def raw_put(self) -> RawPut | None:
        """Stores bytes under a key without the backend under test; ``None`` skips the raw tests."""
        return None

    # --- get / put / head ------------------------------------------------------------------

    def test_round_trip(self, backend: Backend) -> None:
        meta = backend.put("a/b.bin", b"hello")
        assert isinstance(meta, ObjectMeta)
        assert meta.key == "a/b.bin" and meta.size == 5 and meta.etag
        assert backend.get("a/b.bin") == b"hello"

    def test_empty_object(self, backend: Backend) -> None:
        backend.put("empty", b"")
        assert backend.get("empty") == b""
        assert backend.head("empty").size == 0

    def test_multi_megabyte_object(self, backend: Backend) -> None:
        data = bytes(range(256)) * (5 * 4096 + 7)  # a little over 5 MiB, not block-aligned
        backend.put("big/object", data)
        assert backend.get("big/object") == data
        assert backend.head("big/object").size == len(data)

    def test_a_byte_range_is_those_bytes_of_the_object(self, backend: Backend) -> None:
        data = bytes(range(256)) * 4096 + b"end"  # 1 MiB and a little, not block-aligned
        backend.put("ranged/k", data)
        for offset, length in ((0, 8), (1000, 70_000), (len(data) - 3, 3), (len(data) - 2, 100), (5, 0)):
            assert backend.get_range("ranged/k", offset, length) == data[offset : offset + length]
        assert backend.get_range("ranged/k", len(data), 10) == b""
        assert backend.get_range("ranged/k", len(data) + 100, 10) == b""
        with pytest.raises(ObjectNotFoundError):
            backend.get_range("ranged/missing", 0, 10)
        with pytest.raises(InvalidInputError):
            backend.get_range("ranged/k", -1, 10)

    def test_a_local_path_if_offered_holds_the_object_and_an_overwrite_is_a_new_file(self, backend: Backend) -> None:
        backend.put("mapped/k", b"first")
        path = backend.local_path("mapped/k")
        if path is None:
            pytest.skip("the backend offers no local files (local_path is optional)")
        with open(path, "rb") as held:  # as the core's memory map holds it
            assert held.read() == backend.get("mapped/k")
            backend.put("mapped/k", b"second, longer")
            held.seek(0)
            assert held.read() == b"first"  # replaced by a new file, never changed in place
        with open(str(backend.local_path("mapped/k")), "rb") as now:
            assert now.read() == b"second, longer"

    def test_head_returns_the_etag_put_returned(self, backend: Backend) -> None:
        put_meta = backend.put("k", b"x")
        head_meta = backend.head("k")
        assert head_meta.etag == put_meta.etag
        assert head_meta.size == 1 and head_meta.key == "k"
        if head_meta.last_modified is not None:
            assert head_meta.last_modified.tzinfo is not None

    def test_overwrite_replaces_and_changes_etag(self, backend: Backend) -> None:
        first = backend.put("k", b"one")
        second = backend.put("k", b"two!")
        assert backend.get("k") == b"two!"
        assert second.etag != first.etag
        assert backend.head("k").size == 4

    def test_missing_object_raises_not_found(self, backend: Backend) -> None:
        with pytest.raises(ObjectNotFoundError):
            backend.get("no/such/key")
        with pytest.raises(FileNotFoundError):
            backend.head("no/such/key")

    def test_odd_but_valid_key_characters(self, backend: Backend) -> None:
        key = "sym/ES=F/^GSPC/a-b_c.d+e=f@g~h#i!j.parquet"
        backend.put(key, b"odd")
        assert backend.get(key) == b"odd"
        assert [m.key for m in backend.list("sym/")] == [key]

    @pytest.mark.parametrize("key", ["", "/abs", "a//b", "../x", "a/../b", "a/./b", "a\\b", "nul\x00", "sp ace"])
    def test_invalid_keys_are_rejected(self, backend: Backend, key: str) -> None:
        with pytest.raises(InvalidKeyError):
            backend.put(key, b"x")

    # --- what is really stored (bypass hooks) ----------------------------------------------

    def test_put_stores_exactly_the_bytes_given(self, backend: Backend, raw_get: RawGet | None) -> None:
        raw_get = required(raw_get, "raw_get")
        data = bytes(range(256)) * 3 + b"\x00tail"
        backend.put("raw/a.bin", data)
        assert raw_get("raw/a.bin") == data
        backend.put("raw/a.bin", b"shorter")
        assert raw_get("raw/a.bin") == b"shorter"
        backend.put("raw/empty", b"")
        assert raw_get("raw/empty") == b""

    def test_an_object_stored_behind_the_backend_is_read_and_listed(
        self, backend: Backend, raw_put: RawPut | None
    ) -> None:
        raw_put = required(raw_put, "raw_put")
        data = b"written behind the backend's back\n" * 100
        raw_put("side/door.bin", data)
        assert backend.get("side/door.bin") == data
        assert backend.head("side/door.bin").size == len(data)
        assert [(m.key, m.size) for m in backend.list("side/")] == [("side/door.bin", len(data))]
        etag = backend.head("side/door.bin").etag
        backend.put("side/door.bin", b"replaced", mode=IfMatch(etag))
        assert backend.get("side/door.bin") == b"replaced"

    def test_an_object_replaced_behind_the_backend_is_seen(
        self, backend: Backend, raw_get: RawGet | None, raw_put: RawPut | None
    ) -> None:
        raw_get, raw_put = required(raw_get, "raw_get"), required(raw_put, "raw_put")
        first = backend.put("k", b"before")
        raw_put("k", b"after, and longer")
        assert backend.get("k") == raw_get("k") == b"after, and longer"
        assert backend.head("k").size == len(b"after, and longer")
        with pytest.raises(PreconditionFailedError):
            backend.put("k", b"stale", mode=IfMatch(first.etag))
        assert raw_get("k") == b"after, and longer"

    # --- conditional puts ------------------------------------------------------------------

    def test_create_fails_when_the_object_exists(self, backend: Backend) -> None:
        backend.put("k", b"first", mode="create")
        with pytest.raises(ObjectExistsError):
            backend.put("k", b"second", mode="create")
        with pytest.raises(FileExistsError):
            backend.put("k", b"third", mode="create")
        assert backend.get("k") == b"first"

    def test_create_race_has_exactly_one_winner(self, backend: Backend) -> None:
        results = _race(self.race_threads, lambda i: backend.put("race", f"writer {i}".encode(), mode="create"))
        winners = [i for i, r in enumerate(results) if isinstance(r, ObjectMeta)]
        losers = [r for r in results if isinstance(r, ObjectExistsError)]
        assert len(winners) == 1, results
        assert len(losers) == self.race_threads - 1, results
        assert backend.get("race") == f"writer {winners[0]}".encode()

    def test_if_match_succeeds_with_the_current_etag(self, backend: Backend) -> None:
        first = backend.put("idx", b"v1")
        second = backend.put("idx", b"v2", mode=IfMatch(first.etag))
        assert backend.get("idx") == b"v2"
        assert backend.head("idx").etag == second.etag != first.etag

    def test_get_tagged_gives_the_bytes_with_their_etag_and_skips_them_when_unchanged(self, backend: Backend) -> None:
        first = backend.put("tagged/idx", b"v1")
        etag, data = backend.get_tagged("tagged/idx")
        assert (etag, data) == (backend.head("tagged/idx").etag, b"v1") and etag == first.etag
        assert backend.get_tagged("tagged/idx", unless=etag) == (etag, None)
        second = backend.put("tagged/idx", b"v2", mode=IfMatch(etag))  # the ETag is one a compare-and-swap takes
        assert backend.get_tagged("tagged/idx", unless=etag) == (second.etag, b"v2")
        assert backend.get_tagged("tagged/idx", unless=second.etag) == (second.etag, None)
        with pytest.raises(PreconditionFailedError):
            backend.put("tagged/idx", b"v3", mode=IfMatch(etag))
        with pytest.raises(ObjectNotFoundError):
            backend.get_tagged("tagged/missing")
        with pytest.raises(ObjectNotFoundError):
            backend.get_tagged("tagged/missing", unless=etag)

    def test_if_match_fails_with_a_stale_etag(self, backend: Backend) -> None:
        first = backend.put("idx", b"v1")
        backend.put("idx", b"v2", mode=IfMatch(first.etag))
        with pytest.raises(PreconditionFailedError):
            backend.put("idx", b"v3", mode=IfMatch(first.etag))
        assert backend.get("idx") == b"v2"

    def test_if_match_fails_when_the_object_is_missing(self, backend: Backend) -> None:
        etag = backend.put("other", b"x").etag
        with pytest.raises(PreconditionFailedError):
            backend.put("missing", b"v", mode=IfMatch(etag))
        with pytest.raises(ObjectNotFoundError):
            backend.get("missing")

    def test_if_match_race_has_exactly_one_winner(self, backend: Backend) -> None:
        etag = backend.put("idx", b"v0").etag
        results = _race(self.race_threads, lambda i: backend.put("idx", f"v{i + 1}".encode(), mode=IfMatch(etag)))
        winners = [i for i, r in enumerate(results) if isinstance(r, ObjectMeta)]
        losers = [r for r in results if isinstance(r, PreconditionFailedError)]
        assert len(winners) == 1, results
        assert len(losers) == self.race_threads - 1, results
        assert backend.get("idx") == f"v{winners[0] + 1}".encode()

    # --- list / delete ---------------------------------------------------------------------

    def test_list_by_prefix_in_key_order_without_bleed(self, backend: Backend) -> None:
        for key in ["ab/1", "a/2", "a/1", "a/sub/3", "b/1"]:
            backend.put(key, key.encode())
        assert [m.key for m in backend.list("a/")] == ["a/1", "a/2", "a/sub/3"]
        assert [m.key for m in backend.list("ab/")] == ["ab/1"]
        assert [m.key for m in backend.list("")] == ["a/1", "a/2", "a/sub/3", "ab/1", "b/1"]
        assert [m.key for m in backend.list("zzz/")] == []
        sizes = {m.key: m.size for m in backend.list("a/")}
        assert sizes == {"a/1": 3, "a/2": 3, "a/sub/3": 7}

    def test_keys_are_the_listed_keys_by_prefix_in_order(self, backend: Backend) -> None:
        for key in ["ab/1", "a/2", "a/1", "a/sub/3", "b/1"]:
            backend.put(key, key.encode())
        for prefix in ["", "a", "a/", "a/s", "ab/", "zzz/"]:
            assert list(backend.keys(prefix)) == [m.key for m in backend.list(prefix)], prefix
        assert list(backend.keys("a/")) == ["a/1", "a/2", "a/sub/3"]

    def test_a_prefix_ending_inside_a_name_lists_only_keys_that_start_with_it(self, backend: Backend) -> None:
        for key in ["p/b", "p/bc", "p/bcd", "p/bcx/e"]:
            backend.put(key, key.encode())
        cases = [("p/bc", ["p/bc", "p/bcd", "p/bcx/e"]), ("p/bcde", []), ("p/bcx/", ["p/bcx/e"]), ("p/bcx/ef", [])]
        for prefix, wanted in cases:
            assert [m.key for m in backend.list(prefix)] == wanted, prefix
            assert list(backend.keys(prefix)) == wanted, prefix

    def test_list_paginates(self, backend: Backend) -> None:
        keys = [f"many/{i:05d}" for i in range(self.listing_page_size)]
        results = _race(8, lambda i: [backend.put(k, b"") for k in keys[i::8]])
        assert not [r for r in results if isinstance(r, Exception)], results
        assert [m.key for m in backend.list("many/")] == keys

    def test_delete_is_idempotent(self, backend: Backend) -> None:
        backend.put("k", b"x")
        backend.delete("k")
        backend.delete("k")
        backend.delete("never/existed")
        with pytest.raises(ObjectNotFoundError):
            backend.get("k")
        assert list(backend.list("k")) == []

    # --- identity --------------------------------------------------------------------------

    def test_pickle_round_trip_sees_the_same_objects(self, backend: Backend) -> None:
        backend.put("p", b"pickled")
        clone = pickle.loads(pickle.dumps(backend))
        try:
            assert clone == backend and hash(clone) == hash(backend)
            assert clone.get("p") == b"pickled"
        finally:
            clone.close()

    def test_from_url_reopens_the_same_store(self, backend: Backend, backend_options: dict[str, Any]) -> None:
        backend.put("u", b"by url")
        with type(backend).from_url(backend.url, **backend_options) as again:
            assert again == backend
            assert again.get("u") == b"by url"

    def test_repr_and_url_hide_secrets(self, backend: Backend, secrets: list[str]) -> None:
        shown = repr(backend) + str(backend) + backend.url
        assert backend.url.split("://")[0] in backend.schemes
        for secret in secrets:
            assert secret not in shown

    def test_a_store_in_use_exists(self, backend: Backend) -> None:
        backend.put("k", b"v")
        assert backend.exists() is True

    def test_lock_excludes_other_holders(self, backend: Backend) -> None:
        if backend.layout != "behemoth":
            pytest.skip("only backends with version-named keys need a real lock")
        inside: list[int] = []
        overlaps: list[int] = []

        def hold(i: int) -> None:
            with backend.lock("symbol-lock"):
                inside.append(i)
                if len(inside) > 1:
                    overlaps.append(i)
                threading.Event().wait(0.01)
                inside.remove(i)

        results = _race(self.race_threads, hold)
        assert not [r for r in results if isinstance(r, Exception)], results
        assert overlaps == []
