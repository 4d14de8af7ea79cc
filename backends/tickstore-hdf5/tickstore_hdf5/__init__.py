"""Registers the local disk backend with tickstore; importing this module never imports PyTables."""

from tickstore_core.plugin import BackendSpec, hookimpl


@hookimpl
def tickstore_backends() -> list[BackendSpec]:
    return [
        BackendSpec(
            name="file",
            schemes=("file",),
            load="tickstore_hdf5._backend:LocalBackend",
            description="HDF5 files on a local disk or RAID, in the original tick store's layout (file:///path/db)",
            install_hint="pip install tickstore-hdf5",
        )
    ]
