"""Compatibility layers: other tick stores' APIs over tickstore, so existing code runs unchanged.

`tickstore_core.compat.serenity` offers serenity's ``LocalTickstore``,
``AzureBlobTickstore`` and ``BiTimestamp``; ``docs/migration.md`` explains the move.
"""
