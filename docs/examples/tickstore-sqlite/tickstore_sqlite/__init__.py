"""Registers the SQLite backend with tickstore; importing this never imports the backend itself."""

from tickstore_core.plugin import BackendSpec, hookimpl


@hookimpl
def tickstore_backends() -> list[BackendSpec]:
    return [
        BackendSpec(
            name="sqlite",
            schemes=("sqlite",),
            load="tickstore_sqlite._backend:SQLiteBackend",
            description="a whole store in one SQLite file (example plugin)",
        )
    ]
