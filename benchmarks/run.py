"""Run every benchmark side by side with its anchor and print one Markdown table.

    python benchmarks/run.py            # full sizes (tens of minutes: 1M-row drift, training)
    python benchmarks/run.py --quick    # small sizes, for a smoke run
    python benchmarks/run.py cli data   # only bench_cli.py and bench_data.py

Each ``bench_<area>.py`` has ``main(quick: bool) -> list[dict]`` whose rows carry
``figure, ours, anchor, ratio, budget, ok, unit``. Figures are whole-process wall times unless a
row says otherwise; every ratio compares with an anchor measured in the same run.
"""

from __future__ import annotations

import argparse
import importlib
import json
import platform
import sys
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent


def fmt(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 1000 else f"{value:,.0f}"
    return "" if value is None else str(value)


def table(rows: list[dict]) -> str:
    head = ("| area | figure | ours | anchor | ratio | budget | ok |\n"
            "|---|---|---|---|---|---|---|\n")
    body = "".join(
        f"| {r['area']} | {r['figure']} | {fmt(r.get('ours'))} {r.get('unit', '')} | "
        f"{fmt(r.get('anchor'))} | {fmt(r.get('ratio'))} | {r.get('budget', '')} | "
        f"{'yes' if r.get('ok') else ('n/a' if r.get('ok') is None else 'NO')} |\n"
        for r in rows)
    return head + body


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("areas", nargs="*", help="bench_<area>.py to run (default: all)")
    parser.add_argument("--quick", action="store_true", help="small sizes")
    parser.add_argument("--json", type=Path, help="also write the rows as JSON here")
    args = parser.parse_args()
    sys.path.insert(0, str(HERE))
    areas = args.areas or sorted(p.stem.removeprefix("bench_") for p in HERE.glob("bench_*.py"))
    rows: list[dict] = []
    failed = False
    for area in areas:
        started = time.perf_counter()
        print(f"== {area}", file=sys.stderr, flush=True)
        try:
            module = importlib.import_module(f"bench_{area}")
            for row in module.main(quick=args.quick):
                rows.append({"area": area, **row})
        except Exception:
            failed = True
            traceback.print_exc()
            rows.append({"area": area, "figure": "benchmark crashed", "ok": False})
        print(f"   {time.perf_counter() - started:.1f}s", file=sys.stderr, flush=True)
    print(f"\nMachine: {platform.machine()}, {platform.python_implementation()} "
          f"{platform.python_version()}, quick={args.quick}\n")
    print(table(rows))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2, default=str))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
