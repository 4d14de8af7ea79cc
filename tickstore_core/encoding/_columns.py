"""The requested data columns of a decoded table, the same way for every encoding."""

from __future__ import annotations

from collections.abc import Sequence

import pyarrow as pa

__all__ = ["project"]


def project(table: pa.Table, columns: Sequence[str] | None) -> pa.Table:
    """The timestamp column, then ``columns`` in their order (all when None); names the table lacks are left out."""
    if columns is None:
        return table
    first = table.column_names[0]
    wanted = [first, *dict.fromkeys(c for c in columns if c != first and c in table.column_names)]
    return table.select(wanted)
