"""Registers the S3 backend with tickstore; importing this module never imports boto3."""

from tickstore_core.plugin import BackendSpec, hookimpl


@hookimpl
def tickstore_backends() -> list[BackendSpec]:
    return [
        BackendSpec(
            name="s3",
            schemes=("s3",),
            load="tickstore_s3._backend:S3Backend",
            description="Amazon S3 or an S3-compatible service (s3://bucket/prefix)",
            install_hint="pip install tickstore-s3",
        )
    ]
