"""A directory on a local disk or RAID as a tickstore backend: ``file:///data/db``.

Each object is the file ``root/key``; the core asks for HDF5 encoding and the original tick
store's layout, so an existing store opens as it is. ``root/.tickstore/`` is reserved: temporary
files (``tmp/``) and lock files (``locks/``), never listed and never valid keys.

Guarantees, on one POSIX filesystem shared by any number of threads and processes:

- A put is atomic: the bytes go to a temporary file, are flushed and fsynced, and the file is
  renamed over the key (``"overwrite"``) or hard-linked to it (``"create"``, which fails if the
  key exists). A reader sees the old bytes or the new, never a mix, and a writer that dies
  leaves at most a temporary file (swept after a day).
- ``IfMatch`` compares and replaces under an exclusive ``flock`` on the key's lock file.
- ETags come from ``os.stat``: inode, modification time and size. Each write is a new file whose
  modification time is set to the nanosecond clock, so an ETag is never seen twice.
- :meth:`HDF5Backend.lock` is an ``flock`` too: it excludes other processes and other threads,
  and the kernel releases it when its holder dies, even by SIGKILL.

Options (keywords, or strings in the URL query): ``fsync`` (default true: flush writes to the
disk before they become visible) and ``lock_timeout`` (seconds to wait for a lock before
:class:`~tickstore_core.BackendError`; default: wait as long as it takes).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import os
import stat
import time
import uuid
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import unquote

from tickstore_core.plugin import (
    Backend,
    BackendError,
    BackendPermissionError,
    IfMatch,
    InvalidInputError,
    InvalidKeyError,
    InvalidURLError,
    ObjectExistsError,
    ObjectMeta,
    ObjectNotFoundError,
    PreconditionFailedError,
    PutMode,
    StorageError,
    check_key,
    split_url,
)

from ._options import HDF5Options

__all__ = ["HDF5Backend", "HDF5Options"]

RESERVED = ".tickstore"
_TEMP_MAX_AGE = 86_400.0


class HDF5Backend(Backend):
    """Objects as files under a root directory; safe to share between threads and processes."""

    name: ClassVar[str] = "hdf5"
    schemes: ClassVar[tuple[str, ...]] = ("file", "hdf5")
    encoding: ClassVar[str] = "hdf5"
    layout: ClassVar[str] = "behemoth"
    is_local: ClassVar[bool] = True

    def __init__(self, root: str | os.PathLike[str], options: HDF5Options | None = None) -> None:
        self.root = _checked_root(Path(root).expanduser())
        self.options = options or HDF5Options()
        self._sweep_temporary_files()

    @classmethod
    def from_url(cls, url: str, **options: Any) -> HDF5Backend:
        parts = split_url(url)
        if parts.scheme not in cls.schemes or parts.netloc not in ("", "localhost") or not parts.path.startswith("/"):
            raise InvalidURLError(
                f"use file:///absolute/path/to/db (or hdf5:///absolute/path/to/db) for a local store, not {url!r}"
            )
        return cls(unquote(parts.path), HDF5Options.parse(parts.query, options))

    @property
    def url(self) -> str:
        return self.root.as_uri()

    def __reduce__(self) -> tuple[Any, ...]:
        return (HDF5Backend, (str(self.root), self.options))

    # --- the verbs -----------------------------------------------------------------------------

    def get(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except OSError as exc:
            raise self._translate(exc, key) from exc

    def get_tagged(self, key: str, *, unless: str | None = None) -> tuple[str, bytes | None]:
        """The file's bytes and the ETag of the file read (puts replace files by rename, so one open
        file is one version)."""
        try:
            with open(self._path(key), "rb") as file:
                etag = _meta(key, os.fstat(file.fileno())).etag
                return etag, None if etag == unless else file.read()
        except OSError as exc:
            raise self._translate(exc, key) from exc

    def local_path(self, key: str) -> str | None:
        """The file ``root/key``: puts replace files by rename, never in place, so the core may memory-map it."""
        return str(self._path(key))

    def head(self, key: str) -> ObjectMeta:
        try:
            found = os.stat(self._path(key))
        except OSError as exc:
            raise self._translate(exc, key) from exc
        if not stat.S_ISREG(found.st_mode):
            raise ObjectNotFoundError(f"{self.url}/{key} does not exist")
        return _meta(key, found)

    def put(self, key: str, data: bytes, *, mode: PutMode = "overwrite") -> ObjectMeta:
        target = self._path(key)
        if mode not in ("overwrite", "create") and not isinstance(mode, IfMatch):
            raise InvalidInputError(f"unknown put mode {mode!r}; use 'overwrite', 'create' or IfMatch(etag)")
        try:
            temporary, meta = self._write_temporary(key, data)
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
                if mode == "create":
                    self._link(temporary, target, key)
                elif isinstance(mode, IfMatch):
                    with self._flock(self._key_lock(key)):
                        current = self._current_etag(target)
                        if current != mode.etag:
                            raise PreconditionFailedError(
                                f"{self.url}/{key} changed since ETag {mode.etag} was read; re-read it and retry"
                            )
                        os.replace(temporary, target)
                else:
                    os.replace(temporary, target)
            finally:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(temporary)
            self._sync_directory(target.parent)
        except StorageError:
            raise
        except OSError as exc:
            raise self._translate(exc, key, writing=True) from exc
        return meta

    def list(self, prefix: str = "") -> Iterator[ObjectMeta]:
        for key, entry in self._files(prefix):
            try:
                yield _meta(key, entry.stat())
            except FileNotFoundError:
                continue  # deleted meanwhile, or a link to nothing
            except OSError as exc:
                if exc.errno == errno.ELOOP:
                    continue  # a link to itself: no object either
                raise self._translate(exc, key) from exc  # a link to what this user may not read

    def keys(self, prefix: str = "") -> Iterator[str]:
        """The keys of `list` without a ``stat`` per file (listing 10,000 symbols takes half the time)."""
        for key, _ in self._files(prefix):
            yield key

    def _files(self, prefix: str) -> Iterator[tuple[str, os.DirEntry[str]]]:
        start, _, _ = prefix.rpartition("/")  # walk only the directory the prefix names
        if (start and not _valid_key(start)) or start.split("/")[0] == RESERVED:
            return
        yield from self._walk(self.root / start, f"{start}/" if start else "", prefix, frozenset())

    def delete(self, key: str) -> None:
        """Unlink the file ``root/key``, never anything behind a symbolic link to a directory.

        The walk opens each directory below the root with ``O_NOFOLLOW`` and unlinks relative to
        the last one, so a link swapped in meanwhile cannot redirect the delete out of the root.
        """
        self._path(key)  # checks the key
        *directories, name = key.split("/")
        try:
            fd = os.open(self.root, os.O_RDONLY | os.O_DIRECTORY)
        except FileNotFoundError:
            return
        except OSError as exc:
            raise self._translate(exc, key) from exc
        try:
            for directory in directories:
                below = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fd)
                os.close(fd)
                fd = below
            os.unlink(name, dir_fd=fd)
        except OSError as exc:
            if exc.errno in (errno.ELOOP, errno.ENOTDIR) and self._behind_link(key):
                raise BackendError(
                    f"{self.url}/{key} lies behind a symbolic link, outside the store's own directory; "
                    "the local backend deletes only its own files"
                ) from exc
            if not isinstance(exc, (FileNotFoundError, IsADirectoryError, NotADirectoryError)):
                raise self._translate(exc, key) from exc
        finally:
            os.close(fd)

    def owns(self, key: str) -> bool:
        """True for a plain file at ``root/key`` with no symbolic link on the way (see :meth:`Backend.owns`)."""
        path = self._path(key)
        try:
            return stat.S_ISREG(os.lstat(path).st_mode) and os.path.realpath(path) == str(path)
        except OSError:
            return False

    def exists(self) -> bool:
        return self.root.is_dir()  # the first write creates it

    @contextlib.contextmanager
    def lock(self, name: str) -> Iterator[None]:
        if "/" in name or name.startswith("."):
            raise InvalidKeyError(f"invalid lock name {name!r}: no '/' and no leading '.'")
        with self._flock(self.root / RESERVED / "locks" / f"{check_key(name)}.lock"):
            yield

    # --- helpers -------------------------------------------------------------------------------

    def _path(self, key: str) -> Path:
        if check_key(key).split("/")[0] == RESERVED:
            raise InvalidKeyError(f"keys under {RESERVED}/ are reserved for the local backend's own files")
        return self.root / key

    def _behind_link(self, key: str) -> bool:
        parent = (self.root / key).parent
        return os.path.realpath(parent) != str(parent)

    def _write_temporary(self, key: str, data: bytes) -> tuple[Path, ObjectMeta]:
        """Write ``data`` to a new file in the reserved area; return it and its metadata."""
        directory = self.root / RESERVED / "tmp"
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"{os.getpid()}-{uuid.uuid4().hex}.tmp"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # 0o666: the umask decides, as usual
        try:
            with os.fdopen(fd, "wb", closefd=False) as file:
                file.write(data)
            now = time.time_ns()
            os.utime(fd, ns=(now, now))  # a fine-grained mtime keeps ETags unique when inodes are reused
            if self.options.fsync:
                os.fsync(fd)
            return path, _meta(key, os.fstat(fd))
        except BaseException:
            os.unlink(path)
            raise
        finally:
            os.close(fd)

    def _link(self, temporary: Path, target: Path, key: str) -> None:
        """Make ``target`` the temporary file's second name, atomically failing if it exists."""
        try:
            os.link(temporary, target)
        except FileExistsError:
            raise ObjectExistsError(f"{self.url}/{key} already exists") from None
        except OSError as exc:
            if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK):
                raise
            with self._flock(self._key_lock(key)):  # no hard links here: check and rename under the key's lock
                if target.exists():
                    raise ObjectExistsError(f"{self.url}/{key} already exists") from None
                os.replace(temporary, target)

    def _current_etag(self, target: Path) -> str | None:
        try:
            return _meta("", os.stat(target)).etag
        except FileNotFoundError:
            return None

    def _key_lock(self, key: str) -> Path:
        return self.root / RESERVED / "locks" / f"key-{hashlib.sha256(key.encode()).hexdigest()[:40]}.lock"

    @contextlib.contextmanager
    def _flock(self, path: Path) -> Iterator[None]:
        """Hold an exclusive ``flock`` on ``path``, through a new file descriptor (so threads exclude too)."""
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
        except OSError as exc:
            raise self._translate(exc, str(path.relative_to(self.root))) from exc
        try:
            self._acquire(fd, path)
            yield
        finally:
            os.close(fd)  # closing the last descriptor releases the lock

    def _acquire(self, fd: int, path: Path) -> None:
        timeout = self.options.lock_timeout
        if timeout is None:
            fcntl.flock(fd, fcntl.LOCK_EX)
            return
        deadline, pause = time.monotonic() + timeout, 0.001
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise BackendError(
                        f"{path} is locked by another writer and was not released within {timeout:g} s; "
                        "try again, or raise lock_timeout"
                    ) from None
                time.sleep(pause)
                pause = min(pause * 2, 0.05)

    def _walk(
        self, directory: Path, base: str, prefix: str, above: frozenset[tuple[int, int]]
    ) -> Iterator[tuple[str, os.DirEntry[str]]]:
        """Files under ``directory`` (key prefix ``base``) with their keys, in key order; vanished entries are skipped.

        A directory's keys sort as its name plus ``/``, so entries are ordered by that, which is
        the plain string order of the full keys (S3's). Symbolic links are followed, loops not.
        """
        try:
            here = os.stat(directory)
            with os.scandir(directory) as scan:
                entries = {e.name + "/" if _is_dir(e) else e.name: e for e in scan}
        except (FileNotFoundError, NotADirectoryError):
            return
        except OSError as exc:
            raise self._translate(exc, base) from exc
        above = above | {(here.st_dev, here.st_ino)}
        for name in sorted(entries):
            key = base + name
            if not name.endswith("/"):
                if key.startswith(prefix) and _valid_key(key):  # a stray file's name may be no valid key
                    yield key, entries[name]
                continue
            if key == f"{RESERVED}/" or not (key.startswith(prefix) or prefix.startswith(key)):
                continue
            with contextlib.suppress(OSError):
                info = entries[name].stat()
                if (info.st_dev, info.st_ino) not in above:
                    yield from self._walk(Path(entries[name].path), key, prefix, above)

    def _sweep_temporary_files(self) -> None:
        """Remove temporary files of writers that died, once they are a day old."""
        with contextlib.suppress(OSError), os.scandir(self.root / RESERVED / "tmp") as scan:
            for entry in scan:
                with contextlib.suppress(OSError):
                    if time.time() - entry.stat().st_mtime > _TEMP_MAX_AGE:
                        os.unlink(entry.path)

    def _sync_directory(self, directory: Path) -> None:
        """Make a rename durable: fsync the directory holding the new name."""
        if self.options.fsync:
            fd = os.open(directory, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)

    def _translate(self, exc: OSError, key: str, *, writing: bool = False) -> StorageError:
        """One place mapping filesystem errors onto tickstore's."""
        where = f"{self.url}/{key}"
        if isinstance(exc, PermissionError) or exc.errno == errno.EROFS:
            return BackendPermissionError(f"{where}: {exc.strerror}; check the owner and mode of {self.root}")
        if not writing and isinstance(exc, (FileNotFoundError, IsADirectoryError, NotADirectoryError)):
            return ObjectNotFoundError(f"{where} does not exist")
        if writing and isinstance(exc, (IsADirectoryError, NotADirectoryError, FileExistsError)):
            return BackendError(f"{where}: a local store cannot hold both 'a' and 'a/b' as keys ({exc.strerror})")
        return BackendError(f"{where}: {exc.strerror or exc}")


def _checked_root(root: Path) -> Path:
    """``root`` made absolute, or :class:`InvalidURLError` if no store can live there: a NUL character,
    a name longer than the filesystem allows, or a file where the store's directory would be."""
    if "\0" in str(root):
        raise InvalidURLError(f"a local store's path cannot contain a NUL character: {str(root)!r}")
    try:
        root = root.resolve()
    except (OSError, RuntimeError) as exc:  # a symbolic link loop (RuntimeError before Python 3.13)
        raise InvalidURLError(f"a local store's path cannot be resolved: {exc}") from None
    existing = next(path for path in (root, *root.parents) if _exists(path))
    if not existing.is_dir():
        raise InvalidURLError(f"{existing} is a file, so no store can live at {root}: a local store is a directory")
    try:
        name_max = os.pathconf(existing, "PC_NAME_MAX")
    except (OSError, ValueError):
        name_max = 255
    for name in root.parts:
        if len(os.fsencode(name)) > name_max:
            raise InvalidURLError(
                f"a local store's path has a name of {len(os.fsencode(name))} bytes ({name[:24]}...); "
                f"this filesystem allows {name_max}"
            )
    return root


def _exists(path: Path) -> bool:
    try:
        return path.exists()
    except OSError:  # e.g. a name too long: checked next
        return False


def _valid_key(key: str) -> bool:
    try:
        check_key(key)
    except InvalidKeyError:
        return False
    return True


def _is_dir(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir()
    except OSError:
        return False


def _meta(key: str, stat: os.stat_result) -> ObjectMeta:
    etag = f'"{stat.st_ino:x}-{stat.st_mtime_ns:x}-{stat.st_size:x}"'
    modified = datetime.fromtimestamp(stat.st_mtime_ns / 1e9, tz=timezone.utc)
    return ObjectMeta(key, stat.st_size, etag, modified)
