"""A backend plugin that breaks the contract is named in a `BackendError`, never a raw traceback from the core."""

from __future__ import annotations

import uuid
from typing import Any

import pandas as pd
import pytest

from tickstore_core import Tickstore
from tickstore_core.backend import ObjectMeta
from tickstore_core.errors import BackendError, ObjectNotFoundError
from tickstore_core.memory import MemoryBackend

SECRET = "s3cr3t-account-key"


def _ticks() -> pd.DataFrame:
    return pd.DataFrame(
        {"price": [1.0, 2.0]}, index=pd.DatetimeIndex(["2024-03-04 10:00", "2024-03-04 11:00"], tz="UTC")
    )


def _store(backend_class: type[MemoryBackend]) -> Tickstore:
    return Tickstore(backend_class(f"contract-{uuid.uuid4().hex}"))


class TextGets(MemoryBackend):
    name = "text-gets"

    def get(self, key: str) -> Any:
        return super().get(key).decode("latin-1")


class NothingPut(MemoryBackend):
    name = "nothing-put"

    def put(self, key: str, data: bytes, *, mode: Any = "overwrite") -> Any:
        super().put(key, data, mode=mode)
        return None


class RawErrors(MemoryBackend):
    name = "raw-errors"
    failing = False

    def get(self, key: str) -> bytes:
        if self.failing:
            raise OSError(f"connection reset talking with key {SECRET}")
        return super().get(key)


class DictListing(MemoryBackend):
    name = "dict-listing"

    def list(self, prefix: str = "") -> Any:
        return [{"key": m.key} for m in super().list(prefix)]


def test_a_get_returning_text_is_named_as_the_plugin_s_fault():
    with _store(TextGets) as store:
        store.insert("BTCUSD", _ticks())
        store.refresh()
        with pytest.raises(
            BackendError, match=r"'text-gets' broke the backend contract: get\(.*returned str, not bytes"
        ):
            store.select("BTCUSD")


def test_a_put_returning_nothing_fails_with_our_error_not_an_attribute_error():
    with _store(NothingPut) as store, pytest.raises(BackendError, match=r"put\(.*returned NoneType, not an ObjectMeta"):
        store.insert("BTCUSD", _ticks())


def test_a_raw_exception_becomes_a_backend_error_with_the_cause_and_no_secret():
    with _store(RawErrors) as store:
        store.insert("BTCUSD", _ticks())
        store.backend.failing = True  # type: ignore[attr-defined]
        with pytest.raises(BackendError) as caught:
            store.backend.get(store.history("BTCUSD").iloc[0]["key"])
    assert "raised OSError" in str(caught.value) and SECRET not in str(caught.value)
    assert isinstance(caught.value.__cause__, OSError)


def test_a_listing_of_other_things_is_refused_item_by_item():
    backend = DictListing(f"contract-{uuid.uuid4().hex}")
    backend.put("a", b"x")
    with pytest.raises(BackendError, match="list gave a dict, not an ObjectMeta"):
        list(backend.list(""))


def test_our_own_errors_pass_unchanged_and_good_results_are_untouched():
    backend = RawErrors(f"contract-{uuid.uuid4().hex}")
    with pytest.raises(ObjectNotFoundError):
        backend.get("missing")
    assert isinstance(backend.put("a", b"x"), ObjectMeta) and backend.get("a") == b"x"
    assert [m.key for m in backend.list("")] == ["a"]
