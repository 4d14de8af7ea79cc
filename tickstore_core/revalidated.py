"""Small mutable objects (a symbol's index, the manifest) read through the cache, revalidated by ETag.

A cached copy is kept with its ETag; each read asks the backend for the object unless it still has
that ETag (one request), and uses the cached copy, with an :class:`OfflineWarning`, when the backend
cannot be reached.
"""

from __future__ import annotations

import logging
import warnings

from .backend import Backend
from .cache import ObjectCache
from .errors import BackendError, ObjectNotFoundError, OfflineError, OfflineWarning

__all__ = ["read_revalidated"]

log = logging.getLogger("tickstore")


def read_revalidated(
    backend: Backend, cache: ObjectCache | None, key: str, *, offline_ok: bool = True
) -> tuple[str | None, bytes | None]:
    """(ETag, bytes) of a mutable object (an index, the manifest), or (None, None) if it does not exist.

    The ETag is never newer than the bytes (:meth:`Backend.get_tagged`: one request where the
    service returns both, else HEAD then GET), so a compare-and-swap on a stale pair fails safely.
    A cached copy with the current ETag is not sent again; when the backend cannot be reached, the
    cached copy is used with an :class:`OfflineWarning`, unless ``offline_ok`` is false (a commit
    needs the backend anyway).
    """
    cached = cache.get_tagged(backend.url, key) if cache is not None else None
    try:
        etag, data = backend.get_tagged(key, unless=cached[0] if cached is not None else None)
    except ObjectNotFoundError:
        if cache is not None and cached is not None:
            cache.forget_tagged(backend.url, key)
        return None, None
    except BackendError as exc:
        if not offline_ok:
            raise
        if cache is None or cached is None:
            missing = "the store has no cache" if cache is None else f"{key} is not in the local cache"
            raise OfflineError(
                f"{backend.url} cannot be reached and {missing} ({exc}); check the connection, or warm the "
                "cache while online (open the store with cache=True)"
            ) from exc
        cache.count(offline_reads=1)
        message = f"{backend.url} cannot be reached ({exc}); using the cached copy of {key}"
        log.warning(message)
        warnings.warn(message, OfflineWarning, stacklevel=5)
        return cached
    if data is None:  # unchanged since the cached copy (the ETag as the backend spells it, for a compare-and-swap)
        if cache is None or cached is None:
            raise BackendError(f"{backend.url}: get_tagged({key!r}) sent no bytes, and no copy was asked about")
        cache.count(revalidations=1)
        return etag, cached[1]
    if cache is not None:
        cache.put_tagged(backend.url, key, etag, data)
    return etag, data
