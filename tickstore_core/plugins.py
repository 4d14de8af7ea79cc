"""Backend plugins: the pluggy hook, the entry-point loader and the scheme registry.

A backend package registers a module under the entry-point group ``tickstore.backends``; that
module implements one hook, `TickstoreSpecs.tickstore_backends`, returning
`BackendSpec` records. The backend class itself is imported only when a store with one of
its schemes is opened, so a missing SDK breaks only that scheme, with an install hint.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
import importlib.metadata
import logging
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import pluggy

from .backend import Backend
from .errors import (
    BackendConflictError,
    BackendUnavailableError,
    UnknownBackendError,
)

__all__ = [
    "ENTRY_POINT_GROUP",
    "BackendRegistry",
    "BackendSpec",
    "LoadedPlugins",
    "TickstoreSpecs",
    "get_registry",
    "hookimpl",
    "hookspec",
    "load_plugins",
]

PROJECT = "tickstore"
ENTRY_POINT_GROUP = "tickstore.backends"
log = logging.getLogger(__name__)

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)
"""The decorator marking a plugin module's ``tickstore_backends`` function as its hook implementation."""


@dataclass(frozen=True)
class BackendSpec:
    """A backend offered by a plugin, returned by its ``tickstore_backends`` hook.

    The backend class is imported only when a store with one of its schemes is opened, so a
    missing SDK breaks only that scheme, with ``install_hint`` in the message.

    Parameters
    ----------
    name : str
        The backend's short name (``"s3"``), shown by ``tickstore backends``.
    schemes : tuple of str
        The URL schemes it opens (``("s3", "s3a")``).
    load : str or callable
        ``"module:Class"``, imported on first use, or a function returning the `Backend`
        subclass.
    description : str, optional
        One line shown by ``tickstore backends``.
    install_hint : str, optional
        What to install when the import fails (``'pip install "tickstore[s3]"'``).
    distribution : str, optional
        The distribution providing it, named when two plugins claim a scheme; filled in from
        the entry point when empty.

    Examples
    --------
    >>> from tickstore_core.plugin import BackendSpec
    >>> spec = BackendSpec(
    ...     "sqlite", ("sqlite",), "tickstore_sqlite._backend:SQLiteBackend",
    ...     install_hint="pip install tickstore-sqlite",
    ... )
    >>> spec.schemes
    ('sqlite',)
    """

    name: str
    schemes: tuple[str, ...]
    load: Callable[[], type[Backend]] | str
    description: str = ""
    install_hint: str = ""
    distribution: str = field(default="", compare=False)

    def backend_class(self) -> type[Backend]:
        """Import and return the backend class.

        Returns
        -------
        type of Backend
            The `Backend` subclass ``load`` names.

        Raises
        ------
        BackendUnavailableError
            The import failed (the message adds ``install_hint``), or ``load`` gives something that
            is not a `Backend` subclass.

        Examples
        --------
        >>> from tickstore_core.plugin import BackendSpec
        >>> spec = BackendSpec("memory", ("memory",), "tickstore_core.memory:MemoryBackend")
        >>> spec.backend_class().name
        'memory'
        """
        try:
            if isinstance(self.load, str):
                module_name, _, attribute = self.load.partition(":")
                cls = getattr(importlib.import_module(module_name), attribute)
            else:
                cls = self.load()
        except Exception as exc:
            hint = f"; {self.install_hint}" if self.install_hint and isinstance(exc, ImportError) else ""
            raise BackendUnavailableError(
                f"backend {self.name!r} is registered but cannot be imported ({type(exc).__name__}: {exc}){hint}"
            ) from exc
        if not (isinstance(cls, type) and issubclass(cls, Backend)):
            raise BackendUnavailableError(
                f"backend {self.name!r} loads {cls!r}, which is not a tickstore_core.Backend subclass"
            )
        return cls


class TickstoreSpecs:
    """The hooks a tickstore plugin may implement (pluggy hook specifications).

    A plugin is a module registered under the entry-point group ``tickstore.backends`` whose
    functions are marked with `hookimpl`.

    Examples
    --------
    >>> from tickstore_core.plugins import load_plugins
    >>> specs = load_plugins().manager.hook.tickstore_backends()
    >>> any(spec.name == "memory" for found in specs for spec in found)
    True
    """

    @hookspec
    def tickstore_backends(self) -> Iterable[BackendSpec]:  # type: ignore[empty-body]
        """Return the backends this plugin provides.

        Implement it as a module-level function marked with `hookimpl`, in the module the entry
        point names. Keep the module light: it is imported whenever tickstore looks for backends,
        so name the backend class as a ``"module:Class"`` string rather than importing it.

        Returns
        -------
        iterable of BackendSpec
            One spec per backend.

        Examples
        --------
        In ``pyproject.toml``: ``[project.entry-points."tickstore.backends"] mystore = "tickstore_mystore"``,
        and in ``tickstore_mystore/__init__.py``:

        >>> from tickstore_core.plugin import BackendSpec, hookimpl
        >>> @hookimpl
        ... def tickstore_backends():
        ...     backend = "tickstore_mystore._backend:MyBackend"  # imported on first use
        ...     return [BackendSpec("mystore", ("mystore",), backend)]
        """


class _BuiltinBackends:
    """The core's own backends, registered like any plugin."""

    @hookimpl
    def tickstore_backends(self) -> Iterable[BackendSpec]:
        return [
            BackendSpec(
                "memory",
                ("memory",),
                "tickstore_core.memory:MemoryBackend",
                "in-process store for tests and demos",
                distribution="tickstore-core",
            )
        ]


def _specs_of(impl: Any) -> list[BackendSpec] | str:
    """A plugin hook's backend specs, or why they are unusable (the hook raised or returned other things)."""
    try:
        specs = impl.function()
    except Exception as exc:  # noqa: BLE001 - a plugin may fail any way
        return f"its tickstore_backends hook raised {type(exc).__name__}: {exc}"
    if isinstance(specs, BackendSpec) or not isinstance(specs, (list, tuple)):
        return f"its tickstore_backends hook returned {type(specs).__name__}, not a list of BackendSpec"
    if not all(isinstance(spec, BackendSpec) and not isinstance(spec.schemes, str) for spec in specs):
        return "its tickstore_backends hook returned something other than BackendSpecs with a tuple of schemes"
    return list(specs)


class BackendRegistry:
    """The installed backends by URL scheme, built from the loaded plugins."""

    def __init__(self, plugins: LoadedPlugins) -> None:
        self.plugins = plugins
        self.broken: dict[str, str] = dict(plugins.broken)
        by_scheme: dict[str, list[BackendSpec]] = {}
        for impl in plugins.manager.hook.tickstore_backends.get_hookimpls():
            specs = _specs_of(impl)
            if isinstance(specs, str):  # why the plugin is broken: logged, skipped, the others still work
                log.warning("tickstore backend plugin %s skipped: %s", impl.plugin_name, specs)
                self.broken[impl.plugin_name] = specs
                continue
            for spec in specs:
                if not spec.distribution:
                    spec = dataclasses.replace(spec, distribution=plugins.distributions.get(impl.plugin_name, ""))
                for scheme in spec.schemes:
                    by_scheme.setdefault(scheme.lower(), []).append(spec)
        self._by_scheme = by_scheme

    @property
    def schemes(self) -> Mapping[str, tuple[BackendSpec, ...]]:
        """Every registered scheme and the specs that claim it (read-only)."""
        return MappingProxyType({s: tuple(specs) for s, specs in self._by_scheme.items()})

    def spec_for(self, scheme: str) -> BackendSpec:
        """The one spec handling ``scheme``; errors list what is installed or what conflicts."""
        specs = self._by_scheme.get(scheme.lower(), [])
        if not specs:
            installed = ", ".join(sorted(self._by_scheme)) or "none"
            broken = f"; plugins that failed to load: {', '.join(sorted(self.broken))}" if self.broken else ""
            raise UnknownBackendError(
                f"no backend for '{scheme}://'; installed schemes: {installed}{broken}. "
                f"{self.plugins.limited()}Install the backend package that provides it (for example tickstore-s3)."
            )
        if len({(s.name, s.load) for s in specs}) > 1:
            owners = ", ".join(sorted(f"{s.name} ({s.distribution or 'unknown distribution'})" for s in specs))
            raise BackendConflictError(
                f"scheme '{scheme}://' is claimed by several backends: {owners}. "
                "Uninstall one, or limit plugins with TICKSTORE_PLUGINS."
            )
        return specs[0]

    def backend_class(self, scheme: str) -> type[Backend]:
        """The backend class for ``scheme``, imported on demand."""
        return self.spec_for(scheme).backend_class()


@dataclass
class LoadedPlugins:
    """A pluggy manager with tickstore's hooks, plus what loading the installed plugins found.

    ``broken`` maps each entry point that failed to import to its error; ``distributions`` maps
    each loaded entry point to the distribution that installed it (named in conflict messages);
    ``allowed`` holds the names ``TICKSTORE_PLUGINS`` gave (None when unset) and ``left_out`` the
    installed entry points it kept from loading.
    """

    manager: pluggy.PluginManager
    broken: dict[str, str] = field(default_factory=dict)
    distributions: dict[str, str] = field(default_factory=dict)
    allowed: tuple[str, ...] | None = None
    left_out: tuple[str, ...] = ()

    def unmatched(self) -> list[str]:
        """The names in ``TICKSTORE_PLUGINS`` that match no installed plugin (a typo, the wrong case?)."""
        return [name for name in self.allowed or () if name not in self.distributions and name not in self.broken]

    def limited(self) -> str:
        """A sentence on what ``TICKSTORE_PLUGINS`` kept from loading ("" when it is unset)."""
        if self.allowed is None:
            return ""
        unmatched = self.unmatched()
        named = f"; it names no installed plugin: {', '.join(unmatched)}" if unmatched else ""
        left_out = ", ".join(self.left_out) or "none"
        return (
            f"TICKSTORE_PLUGINS={','.join(self.allowed)} limits the plugins loaded{named} (installed plugins "
            f"it leaves out: {left_out}); add the entry-point name of the one you need, or unset it. "
        )

    def register(self, plugin: object, name: str | None = None) -> None:
        """Register one more plugin object (a module or instance with ``@hookimpl`` functions)."""
        self.manager.register(plugin, name=name)


def load_plugins(load_entry_points: bool = True) -> LoadedPlugins:
    """Build a fresh plugin manager: hookspecs, the built-in backends, then installed plugins.

    A plugin that fails to import is logged and remembered (in ``broken``) instead of stopping
    the others. ``TICKSTORE_PLUGINS`` (comma-separated entry-point names) limits which installed
    plugins load.
    """
    pm = pluggy.PluginManager(PROJECT)
    pm.add_hookspecs(TickstoreSpecs)
    pm.register(_BuiltinBackends(), name="tickstore-builtin")
    broken: dict[str, str] = {}
    distributions: dict[str, str] = {}
    allow: tuple[str, ...] | None = None
    left_out: list[str] = []
    if load_entry_points:
        allowed = os.environ.get("TICKSTORE_PLUGINS")
        allow = tuple(dict.fromkeys(n.strip() for n in allowed.split(",") if n.strip())) if allowed else None
        for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
            if allow is not None and ep.name not in allow:
                left_out.append(ep.name)
                continue
            if pm.get_plugin(ep.name) is not None:
                continue
            try:
                plugin = ep.load()
                pm.register(plugin, name=ep.name)
                distributions[ep.name] = ep.dist.name if ep.dist is not None else ""
            except Exception as exc:  # noqa: BLE001 - one broken plugin must not hide the rest
                broken[ep.name] = f"{type(exc).__name__}: {exc}"
                log.warning("tickstore backend plugin %r failed to load: %s", ep.name, exc)
    pm.check_pending()
    loaded = LoadedPlugins(pm, broken, distributions, allow, tuple(sorted(set(left_out))))
    if loaded.unmatched():
        log.warning("TICKSTORE_PLUGINS names no installed tickstore backend plugin: %s", ", ".join(loaded.unmatched()))
    return loaded


@functools.cache
def get_registry() -> BackendRegistry:
    """The process-wide registry of installed backends, loaded once on first use."""
    return BackendRegistry(load_plugins())
