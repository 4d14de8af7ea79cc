"""docs/format.md's reader, which uses only json and pyarrow, reads what select returns."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import tickstore_core as ts
from tickstore_core.synthetic import synthetic_trades

FORMAT = Path(__file__).resolve().parents[2] / "docs" / "format.md"
OPEN = 'filesystem, root = fs.FileSystem.from_uri("s3://bucket/db")\n'
READ = 'read = lambda key: filesystem.open_input_file(f"{root}/{key}").readall()'


@pytest.mark.parametrize("where", ["memory", "file"])
def test_the_format_pages_reader_reads_what_select_returns(where, tmp_path):
    blocks = re.findall(r"```python\n(.*?)```", FORMAT.read_text(), re.S)
    code = blocks[-1]
    (arrow_reader,) = [block for block in blocks if "def read_arrow_object" in block]
    assert OPEN in code and READ in code, "the page's example changed: update this test"
    url = "memory://format-page" if where == "memory" else f"file://{tmp_path}/store"  # tickstore-arrow, hdf5 2
    with ts.open_store(url) as store:
        for day in synthetic_trades("2024-03-03", 7, 200):
            store.insert("BTCUSD", day)
        store.insert("BTCUSD", next(synthetic_trades("2024-03-05", 1, 50, seed=3)), day="2024-03-05")
        store.delete("BTCUSD", "2024-03-07")
        appended = next(synthetic_trades("2024-03-08", 1, 40, seed=4))
        for piece in (appended.iloc[20:], appended.iloc[:20], appended.iloc[10:30]):  # overlapping appends
            store.append("BTCUSD", piece)
        namespace = {"store": store}
        exec(arrow_reader, namespace)  # the page's tickstore-arrow reader, which the example calls
        exec(code.replace(OPEN, "").replace(READ, "read = store.backend.get"), namespace)  # its objects, as stored
        expected = store.select("BTCUSD", "2024-03-04", "2024-03-08")
    ticks = namespace["ticks"]
    assert ticks.column("time").to_pylist() == list(expected.index)
    assert ticks.column("price").to_pylist() == expected.price.tolist()
