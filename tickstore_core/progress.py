"""Progress bars for long operations: shown in notebooks and terminals, silent elsewhere."""

from __future__ import annotations

import collections
import importlib.util
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from typing import Any, TypeVar

__all__ = ["HiddenBar", "interactive", "map_with_progress", "progress_bar"]

_T = TypeVar("_T")


def interactive() -> bool:
    """True in a Jupyter kernel or when stderr is a terminal."""
    if "ipykernel" in sys.modules:
        return True
    return bool(getattr(sys.stderr, "isatty", lambda: False)())


class HiddenBar:
    """What `progress_bar` gives when no bar is shown: takes its steps, draws nothing.

    tqdm is imported only for a bar that is shown: its import takes about 10 ms, which was a tenth of
    a new process's first select of a few days.
    """

    def update(self, steps: int = 1) -> None:
        pass

    def __enter__(self) -> HiddenBar:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


def progress_bar(total: int, description: str, enabled: bool | None) -> Any:
    """A tqdm bar over ``total`` steps; ``enabled=None`` means only when interactive."""
    show = interactive() if enabled is None else enabled
    if not show:
        return HiddenBar()
    from tqdm.std import tqdm

    bar_class: Any = tqdm
    if "ipykernel" in sys.modules and importlib.util.find_spec("ipywidgets") is not None:
        from tqdm.notebook import tqdm as notebook_bar  # the widget bar; it needs ipywidgets

        bar_class = notebook_bar
    return bar_class(total=total, desc=description, unit="part", leave=False)


def map_with_progress(
    pool: Executor | None, work: Callable[[Any], _T], items: Sequence[Any], description: str, enabled: bool | None
) -> list[_T]:
    """``work`` over ``items`` on ``pool`` (None: in turn, on the calling thread), results in order,
    with a bar as `progress_bar` decides.

    On an error (Ctrl-C included) the items not started are cancelled, and what was done is let go
    at once: a notebook keeps the last traceback, and with it this frame, until the next error.
    """
    pending = None if pool is None else collections.deque(pool.submit(work, item) for item in items)
    results: list[_T] = []
    try:
        with progress_bar(len(items), description, enabled) as bar:
            for item in items:  # no name is left holding a done future (and its result) in this frame
                results.append(work(item) if pending is None else pending.popleft().result())
                bar.update(1)
    except BaseException:
        while pending:
            pending.popleft().cancel()
        results.clear()
        raise
    return results
