"""Cold start proxy: import time of every handler module (functions/*/handler.py) in a fresh interpreter, next
to `import boto3` alone (the floor every Python Lambda that talks to AWS pays). Prints a table; run with
`make bench`.

The modules are measured in rounds (boto3, then every handler, N times over), so a change of load on a shared
machine shifts the floor and the handlers alike; each figure is the median of its N samples. The target
(issue #5) is a handler import within TARGET x the floor.

`POWERTOOLS_TRACE_DISABLED` is "true" as the stack deploys it by default (context xraySdkSubsegments=false);
`--xray-sdk` measures with "false", as deployed with the X-Ray SDK subsegments switched on.

Usage: python bench/cold_start.py [--runs N] [--xray-sdk]
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
TARGET = 1.5
PROBE = (
    "import sys, time; sys.path[:0] = {paths!r}; t = time.perf_counter(); import {module}; "
    "print(time.perf_counter() - t, 'aws_xray_sdk' in sys.modules)"
)


def handlers() -> list[Path]:
    return sorted(p.parent for p in (ROOT / "functions").glob("*/handler.py"))


def sample(module: str, paths: list[str], env: dict[str, str]) -> tuple[float, bool]:
    out = subprocess.run([sys.executable, "-c", PROBE.format(paths=paths, module=module)],
                         capture_output=True, text=True, env=env, check=True, cwd=ROOT)
    seconds, xray = out.stdout.split()
    return float(seconds), xray == "True"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--xray-sdk", action="store_true", help="POWERTOOLS_TRACE_DISABLED=false")
    args = parser.parse_args()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(POWERTOOLS_TRACE_DISABLED="false" if args.xray_sdk else "true", AWS_DEFAULT_REGION="us-east-1")
    modules = [("boto3 (floor)", "boto3", [])]
    modules += [(folder.name, "handler", [str(folder), str(LAYER)]) for folder in handlers()]
    times: dict[str, list[float]] = {name: [] for name, _, _ in modules}
    xray: dict[str, bool] = {}
    load_before = os.getloadavg()[0]
    for _ in range(args.runs):
        for name, module, paths in modules:
            seconds, xray[name] = sample(module, paths, env)
            times[name].append(seconds)
    load_after = os.getloadavg()[0]

    floor = statistics.median(times["boto3 (floor)"])
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
          f"median of {args.runs} fresh interpreters per module, measured in rounds; "
          f"POWERTOOLS_TRACE_DISABLED={env['POWERTOOLS_TRACE_DISABLED']}; "
          f"1-minute load average {load_before:.2f} before, {load_after:.2f} after")
    print(f"{'module':<26}{'import ms':>10}{'x boto3':>9}  {'target ' + str(TARGET) + 'x':<13}{'aws_xray_sdk':<12}")
    above = 0
    for name, _, _ in modules:
        median = statistics.median(times[name])
        ratio = median / floor
        verdict = "" if name.startswith("boto3") else ("within" if ratio <= TARGET else "ABOVE")
        above += verdict == "ABOVE"
        print(f"{name:<26}{median * 1000:>10.0f}{ratio:>9.2f}  {verdict:<13}{'imported' if xray[name] else '-':<12}")
    print(f"{len(modules) - 1 - above} of {len(modules) - 1} handlers within {TARGET}x `import boto3`")


if __name__ == "__main__":
    main()
