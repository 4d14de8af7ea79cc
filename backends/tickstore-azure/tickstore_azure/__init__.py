"""Registers the Azure Blob backend with tickstore; importing this module never imports the Azure SDK."""

from tickstore_core.plugin import BackendSpec, hookimpl


@hookimpl
def tickstore_backends() -> list[BackendSpec]:
    return [
        BackendSpec(
            name="azure",
            schemes=("az", "azure"),
            load="tickstore_azure._backend:AzureBlobBackend",
            description="Azure Blob Storage (az://container/prefix)",
            install_hint="pip install tickstore-azure",
        )
    ]
