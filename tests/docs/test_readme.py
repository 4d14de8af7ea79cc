"""The README's first-screen tour runs as written, on the default store (here a scratch one)."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from tickstore_core.synthetic import synthetic_trades

README = Path(__file__).resolve().parents[2] / "README.md"


def test_the_first_screen_tour_runs(tmp_path, monkeypatch):
    monkeypatch.setenv("TICKSTORE_URL", (tmp_path / "store").as_uri())
    tour = re.search(r"```python\n(.*?)```", README.read_text(), re.DOTALL)
    assert tour is not None and "open_store()" in tour.group(1)
    days = list(synthetic_trades("2024-03-04", 5, 2_000, seed=1))
    trades = pd.concat(days)
    corrected = days[2].iloc[::2]
    scope = {"trades": trades, "corrected": corrected}
    exec(compile(tour.group(1), str(README), "exec"), scope)
    assert len(scope["now"]) == len(trades) - len(days[2]) + len(corrected)
    assert len(scope["then"]) == len(trades)
    assert scope["store"].history("BTCUSD")["version"].max() == 1
    scope["store"].close()
