"""Store-wide tags: a name pinning every symbol of a store at one transaction time.

Tags live in the store, in one small JSON object (``_tags.json``) changed only by compare-and-swap,
so two machines tagging at once both keep their tag. A tag is a name (checked like a symbol), a
transaction time and a message; ``as_of="tag:NAME"`` reads the store as of that time, and pruning
never removes a version valid at it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .errors import CorruptObjectError, InvalidInputError, InvalidSymbolError, UnknownTagError
from .symbols import check_symbol
from .times import TIME_MAX, to_utc_ns

ReadMutable = Callable[..., "tuple[str | None, bytes | None]"]

__all__ = [
    "TAGS_FORMAT",
    "TAGS_KEY",
    "TAG_PREFIX",
    "Tag",
    "check_tag_name",
    "tag_name_of",
    "tags_from_bytes",
    "tags_to_bytes",
]

TAGS_KEY = "_tags.json"
TAGS_FORMAT = "tickstore-tags/1"
TAG_PREFIX = "tag:"
MAX_MESSAGE = 4096


@dataclass(frozen=True)
class Tag:
    """A named transaction time of the whole store.

    Attributes
    ----------
    name : str
        Checked like a symbol name.
    time : int
        The transaction time it pins (UTC nanoseconds).
    created : int
        When it was made (UTC nanoseconds).
    message : str
        Why, in the user's words.
    """

    name: str
    time: int
    created: int
    message: str = ""


def check_tag_name(name: object) -> str:
    """``name`` if it is a valid tag name (the rules of symbol names), else `InvalidInputError`."""
    try:
        return check_symbol(name)
    except InvalidSymbolError as exc:
        raise InvalidInputError(str(exc).replace("symbol", "tag name", 1)) from exc


def check_message(message: object) -> str:
    if not isinstance(message, str):
        raise InvalidInputError(f"a tag's message must be a string, got {type(message).__name__}")
    if len(message) > MAX_MESSAGE:
        raise InvalidInputError(f"a tag's message is limited to {MAX_MESSAGE} characters, got {len(message)}")
    return message


def tag_name_of(as_of: Any) -> str | None:
    """The tag named by an ``as_of`` of the form ``"tag:NAME"``, or None for any other ``as_of``."""
    if isinstance(as_of, str) and as_of.startswith(TAG_PREFIX):
        return check_tag_name(as_of[len(TAG_PREFIX) :])
    return None


def tags_to_bytes(tags: dict[str, Tag]) -> bytes:
    document = {
        "format": TAGS_FORMAT,
        "tags": {
            name: {"time": t.time, "created": t.created, "message": t.message} for name, t in sorted(tags.items())
        },
    }
    return json.dumps(document, separators=(",", ":")).encode()


def tags_from_bytes(data: bytes | None, *, where: str) -> dict[str, Tag]:
    if data is None:
        return {}
    try:
        document = json.loads(data)
        if document.get("format") != TAGS_FORMAT:
            raise ValueError(f"unknown format {document.get('format')!r}")
        return {
            name: Tag(name, int(entry["time"]), int(entry["created"]), str(entry.get("message", "")))
            for name, entry in document["tags"].items()
        }
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise CorruptObjectError(f"{where} cannot be read ({exc}); restore it from a backup of the store") from exc


def read_tags(read_mutable: ReadMutable, url: str, *, offline_ok: bool = True) -> tuple[str | None, dict[str, Tag]]:
    """(ETag, tags) of the store whose mutable objects ``read_mutable`` reads (none: no tags yet)."""
    etag, data = read_mutable(TAGS_KEY, offline_ok=offline_ok)
    return etag, tags_from_bytes(data, where=f"{url}/{TAGS_KEY}")


def tag_time(read_mutable: ReadMutable, url: str, name: str) -> int:
    """The transaction time tag ``name`` pins; `UnknownTagError` if there is no such tag."""
    tags = read_tags(read_mutable, url)[1]
    if name not in tags:
        known = ", ".join(sorted(tags)[:10]) or "none"
        raise UnknownTagError(f"no tag {name!r} in {url} (tags: {known}); `tickstore tag ls` lists them")
    return tags[name].time


def resolve_as_of(read_mutable: ReadMutable, url: str, as_of: Any, what: str = "as_of") -> int | None:
    """An ``as_of`` argument (named ``what`` in errors) as UTC nanoseconds: a time, ``"tag:NAME"`` (the
    tag's time), or None (now)."""
    if as_of is None:
        return None
    name = tag_name_of(as_of)
    if name is not None:
        return tag_time(read_mutable, url, name)
    return min(to_utc_ns(as_of, what), TIME_MAX - 1)  # Timestamp.max, "until further notice": the current state
