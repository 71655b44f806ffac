"""Categorical labels (gitops_ml.data.categorical.category_labels) on 1M rows, interleaved with
drift's previous normaliser (a per-value ``map``) as the anchor. Prints the best of three of
each and the ratio. Run: ``python benchmarks/bench_categorical.py`` (note ``uptime``)."""

from __future__ import annotations

import os
import time
from typing import Any

import numpy as np
import pandas as pd

from gitops_ml.data.categorical import category_labels


def per_value_map(s: pd.Series) -> pd.Series:
    """The anchor: drift's normaliser before the one normaliser (it spelt 3.0 as '3.0')."""
    return s.astype(object).where(s.notna(), other=float("nan")).map(
        lambda v: v if isinstance(v, str) or v != v else str(v))


def main(n: int = 1_000_000) -> None:
    rng = np.random.default_rng(0)
    columns: dict[str, Any] = {
        "integers": pd.Series(rng.choice([3, 4, 5, 6, 8], n)),
        "floats with gaps": pd.Series(rng.choice([3.0, 4.0, np.nan], n)),
        "text": pd.Series(rng.choice(["monthly", "yearly"], n)).astype(object),
    }
    print(f"load {os.getloadavg()[0]:.1f}, {n:,} rows")
    for name, series in columns.items():
        best = {"anchor": float("inf"), "labels": float("inf")}
        for _ in range(3):
            for key, fn in (("anchor", per_value_map), ("labels", category_labels)):
                t0 = time.perf_counter()
                fn(series)
                best[key] = min(best[key], time.perf_counter() - t0)
        print(f"{name:18s} anchor {best['anchor']:.3f}s  labels {best['labels']:.3f}s  "
              f"labels/anchor {best['labels'] / best['anchor']:.2f}")


if __name__ == "__main__":
    main()
