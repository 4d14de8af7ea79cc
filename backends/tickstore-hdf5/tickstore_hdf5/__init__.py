"""Registers the local disk backend with tickstore; importing this module never imports PyTables."""

from tickstore_core.plugin import BackendSpec, hookimpl


@hookimpl
def tickstore_backends() -> list[BackendSpec]:
    return [
        BackendSpec(
            name="hdf5",
            schemes=("file", "hdf5"),
            load="tickstore_hdf5._backend:HDF5Backend",
            description="HDF5 files on a local disk or RAID, in the original tick store's layout (file:///path/db, or hdf5:///path/db)",
            install_hint="pip install tickstore-hdf5",
        )
    ]
