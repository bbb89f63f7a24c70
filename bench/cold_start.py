"""Cold start proxy: import time of every handler module in a fresh interpreter, next to `import boto3`
alone (the floor every Python Lambda that talks to AWS pays). Prints a table; run with `make bench`.

Usage: python bench/cold_start.py [--runs N]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LAYER = ROOT / "layers" / "shared" / "python"
PROBE = (
    "import sys, time; sys.path[:0] = {paths!r}; t = time.perf_counter(); import {module}; "
    "print(time.perf_counter() - t)"
)


def measure(module: str, paths: list[str], runs: int) -> float:
    env = dict(os.environ, POWERTOOLS_TRACE_DISABLED="true", AWS_DEFAULT_REGION="us-east-1")
    samples = []
    for _ in range(runs):
        out = subprocess.run([sys.executable, "-c", PROBE.format(paths=paths, module=module)],
                             capture_output=True, text=True, env=env, check=True)
        samples.append(float(out.stdout.strip()))
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    floor = measure("boto3", [], args.runs)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"median of {args.runs} fresh interpreters")
    print(f"{'module':<28}{'import ms':>10}{'x boto3':>9}")
    print(f"{'boto3 (floor)':<28}{floor * 1000:>10.0f}{1:>9.2f}")
    for folder in sorted(p for p in (ROOT / "functions").iterdir() if (p / "handler.py").exists()):
        seconds = measure("handler", [str(folder), str(LAYER)], args.runs)
        print(f"{folder.name:<28}{seconds * 1000:>10.0f}{seconds / floor:>9.2f}")


if __name__ == "__main__":
    main()
