"""Latency of the local stack at a light and a heavy rate (loopback only; bounded; stops by itself).

Starts one `distsync local up --no-demo`, then offers signed ReplenishmentRecommended webhooks at each rate
for a fixed time (bench/load.py's run: webhook latency from the sender, accepted -> ERP updated from the
ledger, in = out over every accepted event) and prints a Markdown table. ``--write`` also puts the table in
docs/performance.md between its `local-latency` markers. Take it on an otherwise idle machine: the load
average is printed with it.
Usage: python bench/local_latency.py [--rates 10 50] [--seconds 30] [--write]
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "layers" / "shared" / "python"), str(ROOT / "bench")]

from load import LIMITS, SECRET, machine, run  # noqa: E402

from distsync.local import process  # noqa: E402

DOC = ROOT / "docs" / "performance.md"
BEGIN, END = "<!-- local-latency:begin -->", "<!-- local-latency:end -->"


def table(results: list[dict]) -> str:
    rows = ["| offered (webhooks/s) | accepted (webhooks/s) | end to end (events/s) | webhook p50 / p95 (ms) "
            "| accepted -> ERP updated p50 / p95 (s) | in = out | load average |",
            "|---:|---:|---:|---:|---:|---|---:|"]
    for r in results:
        rows.append(
            f"| {r['rate']:g} | {r['offered'] / r['sent_for']:.1f} | {r['accepted'] / r['drained_for']:.1f} "
            f"| {r['webhook_p50_ms']:.0f} / {r['webhook_p95_ms']:.0f} | {r['e2e_p50_s']:.2f} / {r['e2e_p95_s']:.2f} "
            f"| {'yes' if r['in_equals_out'] else 'NO'} ({r['accepted']}) | {r['load_average']:.1f} |")
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rates", type=float, nargs="+", default=[10, 50])
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--items", type=int, default=50)
    parser.add_argument("--write", action="store_true", help="also write the table into docs/performance.md")
    args = parser.parse_args()

    proc, url, _ = process.start(*LIMITS, secret=SECRET)
    try:
        results = [run(url, rate, args.seconds, args.items) for rate in args.rates]
    finally:
        process.stop(proc)
    text = f"{table(results)}\n\n{len(args.rates)} rates x {args.seconds:g} s on one local stack; {machine()} at the end."
    print(text)
    if args.write:
        doc = DOC.read_text()
        if BEGIN not in doc:
            raise SystemExit(f"{DOC} has no {BEGIN} marker")
        DOC.write_text(re.sub(re.escape(BEGIN) + ".*?" + re.escape(END), f"{BEGIN}\n{text}\n{END}", doc, flags=re.S))
        print(f"wrote {DOC.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
