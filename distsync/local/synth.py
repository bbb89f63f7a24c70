"""Run the real CDK synthesizer (the `cdk` CLI from npm) and cache its output by the inputs' hash."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SYNTH_INPUTS = ("app.py", "cdk.json", "requirements.txt", "infra", "functions", "layers", "state_machines", "schemas")
_SKIP = {"__pycache__", ".pytest_cache"}


class SynthError(RuntimeError):
    pass


def inputs_digest(context: dict[str, str]) -> str:
    digest = hashlib.sha256(json.dumps(context, sort_keys=True).encode())
    for name in SYNTH_INPUTS:
        base = ROOT / name
        paths = [base] if base.is_file() else sorted(p for p in base.rglob("*") if p.is_file())
        for path in paths:
            if _SKIP.intersection(path.parts) or path.suffix == ".pyc":
                continue
            digest.update(str(path.relative_to(ROOT)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def cdk_command() -> list[str]:
    local = ROOT / "node_modules" / ".bin" / "cdk"
    if local.exists():
        return [str(local)]
    found = shutil.which("cdk")
    if found:
        return [found]
    raise SynthError("the aws-cdk CLI is not installed: run `make install` (npm install) first")


def synth(out_dir: Path | None = None, context: dict[str, str] | None = None, force: bool = False) -> Path:
    """Synthesize into ``out_dir`` unless it already holds the output of the same inputs. One process at a
    time per directory (parallel test workers and `make run` share it): the others wait and reuse its output."""
    import fcntl

    out_dir = out_dir or ROOT / "cdk.out" / "local"
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    with open(out_dir.parent / f".{out_dir.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return _synth(out_dir, context or {}, force)


def _synth(out_dir: Path, context: dict[str, str], force: bool) -> Path:
    stamp = out_dir / ".distsync-inputs.sha256"
    digest = inputs_digest(context)
    if not force and stamp.exists() and stamp.read_text() == digest:
        return out_dir
    cmd = [*cdk_command(), "synth", "--quiet", "--no-notices", "--no-version-reporting", "--output", str(out_dir)]
    for key, value in sorted(context.items()):
        cmd += ["--context", f"{key}={value}"]
    env = dict(os.environ)
    # `cdk.json` runs `python3 app.py`: make that the interpreter running distsync (the project venv).
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env.setdefault("CDK_DISABLE_CLI_TELEMETRY", "true")
    started = time.monotonic()
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SynthError(f"cdk synth failed ({proc.returncode}):\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}")
    stamp.write_text(digest)
    (out_dir / ".distsync-synth-seconds").write_text(f"{time.monotonic() - started:.1f}")
    return out_dir
