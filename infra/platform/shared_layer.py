"""The shared Lambda layer (``distsync_core`` + pinned requirements), built at synth without Docker.

pip installs the requirements for the Lambda platform (manylinux x86_64, CPython 3.13, wheels only) into
``.build/shared-layer/python``; that step is skipped while a stamp of the requirements and the platform
arguments is unchanged, so repeated synths stay fast and offline. ``distsync_core`` is copied again whenever
its source changed (a digest of its files), because it changes far more often than the pinned dependencies.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from infra import REPO_ROOT

LAYER_SOURCE_DIR = REPO_ROOT / "layers" / "shared"
BUILD_DIR = REPO_ROOT / ".build" / "shared-layer"
RUNTIME = lambda_.Runtime.PYTHON_3_13
CORE_PACKAGE = "distsync_core"

# Must match RUNTIME and the functions' architecture (x86_64).
PIP_PLATFORM_ARGS = (
    "--platform", "manylinux2014_x86_64",
    "--implementation", "cp",
    "--python-version", "3.13",
    "--only-binary=:all:",
)  # fmt: skip


def _stamp_for(requirements: Path) -> str:
    digest = hashlib.sha256(requirements.read_bytes())
    digest.update("\0".join(PIP_PLATFORM_ARGS).encode())
    return digest.hexdigest()


def _install_requirements(site_dir: Path, requirements: Path) -> None:
    # The stamp lives next to (not inside) the layer directory so it never ends up in the asset.
    stamp_file = BUILD_DIR.parent / "shared-layer.requirements.sha256"
    stamp = _stamp_for(requirements)
    if site_dir.is_dir() and stamp_file.is_file() and stamp_file.read_text().strip() == stamp:
        return
    if site_dir.exists():
        shutil.rmtree(site_dir)
    site_dir.mkdir(parents=True)
    stamp_file.unlink(missing_ok=True)
    # --no-deps: requirements.txt is the complete, pinned closure (see its header).
    subprocess.run(
        [
            sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
            "--no-deps", *PIP_PLATFORM_ARGS, "--target", str(site_dir), "-r", str(requirements),
        ],
        check=True,
    )  # fmt: skip
    stamp_file.write_text(stamp + "\n")


def _source_digest(source: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in source.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        if path.suffix != ".pyc":
            digest.update(str(path.relative_to(source)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def _copy_core_package(site_dir: Path) -> None:
    # Copied only when the source changed: parallel synths (the test workers) copy the layer directory into
    # their assets while this runs, and a package swapped under them would vanish mid-copy.
    source = LAYER_SOURCE_DIR / "python" / CORE_PACKAGE
    stamp_file = BUILD_DIR.parent / "shared-layer.core.sha256"
    stamp = _source_digest(source) if source.is_dir() else ""
    if stamp and (site_dir / CORE_PACKAGE).is_dir() and stamp_file.is_file() and stamp_file.read_text() == stamp:
        return
    # Assemble next to the target and swap it in, so a concurrent synth never zips a half-copied package.
    staging = site_dir / f".{CORE_PACKAGE}.{os.getpid()}"
    if staging.exists():
        shutil.rmtree(staging)
    if source.is_dir():
        shutil.copytree(source, staging, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    else:
        # The package may not be written yet; an empty one keeps the asset (and synth) valid.
        staging.mkdir(parents=True)
        (staging / "__init__.py").write_text("")
    target = site_dir / CORE_PACKAGE
    if target.exists():
        shutil.rmtree(target)
    staging.rename(target)
    stamp_file.write_text(stamp)


def build_shared_layer_dir() -> Path:
    """Build (or refresh) the layer directory and return it; the layout is ``<dir>/python/...``."""
    import fcntl

    site_dir = BUILD_DIR / "python"
    BUILD_DIR.mkdir(parents=True, exist_ok=True)
    with open(BUILD_DIR.parent / "shared-layer.lock", "w") as lock:  # one builder at a time
        fcntl.flock(lock, fcntl.LOCK_EX)
        _install_requirements(site_dir, LAYER_SOURCE_DIR / "requirements.txt")
        _copy_core_package(site_dir)
    return BUILD_DIR


class SharedLayer(Construct):
    """One layer version shared by every distsync function."""

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        layer_dir = build_shared_layer_dir()
        self.layer = lambda_.LayerVersion(
            self,
            "Layer",
            code=lambda_.Code.from_asset(str(layer_dir), exclude=["__pycache__", "*.pyc"]),
            compatible_runtimes=[RUNTIME],
            compatible_architectures=[lambda_.Architecture.X86_64],
            description="distsync_core and its pinned dependencies",
        )
