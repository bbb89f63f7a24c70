"""Thin git adapter for ``distsync contracts check``: the base ref and the schema files committed at it."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

SCHEMAS_DIR = "schemas"
MAIN_REFS = ("origin/main", "main")


class GitError(RuntimeError):
    """git failed, or the ref names no commit."""


def _git(repo: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    try:
        result = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=False)
    except FileNotFoundError as exc:
        raise GitError("git is not installed") from exc
    if check and result.returncode != 0:
        raise GitError(f"git {' '.join(args)}: {result.stderr.strip() or result.returncode}")
    return result


def toplevel(path: Path) -> Path:
    """The root of the work tree holding ``path`` (``git ls-tree`` paths are relative to the directory)."""
    return Path(_git(path, "rev-parse", "--show-toplevel").stdout.strip())


def commit_of(repo: Path, ref: str) -> str | None:
    """The commit a ref names, or None (unknown ref, or a parent a shallow clone lacks)."""
    result = _git(repo, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", check=False)
    return result.stdout.strip() if result.returncode == 0 else None


def default_base(repo: Path) -> tuple[str | None, str]:
    """The ref the change under review started from, and why it was chosen.

    On a branch (HEAD not contained in main): its merge-base with main, so every commit of the branch is
    checked. On main itself (CI checks a clone of main whose newest commit is the change): HEAD~1, which for
    a merge commit is main before the merge. None when there is no such commit (first commit, shallow clone)."""
    for main in MAIN_REFS:
        if commit_of(repo, main) is None:
            continue
        on_main = _git(repo, "merge-base", "--is-ancestor", "HEAD", main, check=False).returncode == 0
        if not on_main:
            base = _git(repo, "merge-base", "HEAD", main, check=False).stdout.strip()
            if base:
                return base, f"the merge-base of HEAD and {main}"
        break
    if commit_of(repo, "HEAD~1") is not None:
        return "HEAD~1", "HEAD~1 (HEAD is on main: its newest commit is the change)"
    return None, "HEAD has no parent here (first commit or shallow clone)"


def schemas_at(repo: Path, ref: str) -> dict[str, dict[str, Any]] | None:
    """{file name: schema} of ``schemas/*.json`` at ``ref``; None when the ref has no ``schemas/``."""
    if commit_of(repo, ref) is None:
        raise GitError(f"{ref!r} names no commit in {repo}")
    listing = _git(repo, "ls-tree", "--name-only", ref, f"{SCHEMAS_DIR}/").stdout.split()
    files = [p for p in listing if p.endswith(".json")]
    if not files:
        return None
    return {Path(p).name: json.loads(_git(repo, "show", f"{ref}:{p}").stdout) for p in files}
