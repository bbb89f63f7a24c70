"""`distsync contracts check` against real temporary git repositories: the git adapter reads the committed
schemas at a ref (git ls-tree / git show), picks the default base (merge-base with main, else HEAD~1) and
says "no baseline" when there is none; today's side is rendered from the code."""

from __future__ import annotations

import copy
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from distsync.cli import app
from distsync.schemas import render_all

TODAY = {name: json.loads(text) for name, text in render_all().items()}


@pytest.fixture(autouse=True)
def _git_identity(monkeypatch, tmp_path):
    # A clean git whatever the machine's configuration (CI has no user.name; a signing hook would hang).
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", os.devnull)
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for who in ("AUTHOR", "COMMITTER"):
        monkeypatch.setenv(f"GIT_{who}_NAME", "test")
        monkeypatch.setenv(f"GIT_{who}_EMAIL", "test@example.com")


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout.strip()


def commit(repo: Path, message: str, schemas: dict[str, Any] | None = None) -> str:
    """Commit ``schemas`` as the whole schemas/ directory (None: a commit that leaves it as it is)."""
    if schemas is not None:
        folder = repo / "schemas"
        folder.mkdir(exist_ok=True)
        for old in folder.glob("*.json"):
            old.unlink()
        for name, schema in schemas.items():
            (folder / name).write_text(json.dumps(schema, indent=2, sort_keys=True) + "\n")
    (repo / "log.txt").write_text((repo / "log.txt").read_text() + message + "\n" if (repo / "log.txt").exists()
                                  else message + "\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD")


def new_repo(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    return repo


def run(repo: Path, *args: str) -> tuple[int, Any]:
    result = CliRunner().invoke(app, ["contracts", "check", "--repo", str(repo), "--json", *args])
    return result.exit_code, json.loads(result.stdout)


def with_status_value(value: str) -> dict[str, Any]:
    """Today's schemas, except that ItemUpserted v1 accepted one more status (today's code removed it)."""
    schemas = copy.deepcopy(TODAY)
    schemas["ItemUpserted-v1.json"]["properties"]["data"]["properties"]["status"]["enum"].append(value)
    return schemas


def test_a_breaking_change_fails_and_a_compatible_one_passes(tmp_path):
    repo = new_repo(tmp_path)
    breaking_base = commit(repo, "base: ItemUpserted accepted archived", with_status_value("archived"))
    compatible = copy.deepcopy(TODAY)
    del compatible["ReplenishmentUpdateRequested-v1.json"]["properties"]["data"]["properties"]["erpConnection"]
    del compatible["InventoryBalanceChanged-v2.json"]
    compatible_base = commit(repo, "base: before erpConnection and v2", compatible)
    commit(repo, "today's schemas", TODAY)

    code, out = run(repo, "--against", breaking_base)
    assert code == 1 and not out["ok"] and out["commit"] == breaking_base
    assert [(c["file"], c["field"], c["kind"]) for c in out["breaking"]] == [
        ("ItemUpserted-v1.json", "data.status", "enum value removed")
    ]
    assert '"archived"' in out["breaking"][0]["message"]

    code, out = run(repo, "--against", compatible_base)
    assert code == 0 and out["ok"] and out["breaking"] == []
    assert {(c["file"], c["kind"]) for c in out["changes"]} == {
        ("ReplenishmentUpdateRequested-v1.json", "optional field added"),
        ("InventoryBalanceChanged-v2.json", "new version"),  # the registry upcasts v1 to it
    }


def test_the_human_output_names_the_break_and_the_way_out(tmp_path):
    repo = new_repo(tmp_path)
    base = commit(repo, "base", with_status_value("archived"))
    commit(repo, "today", TODAY)
    result = CliRunner().invoke(app, ["contracts", "check", "--repo", str(repo), "--against", base],
                                env={"COLUMNS": "200"})
    assert result.exit_code == 1
    assert "ItemUpserted-v1.json data.status: enum value removed" in result.stdout
    assert "new version" in result.stdout and "upcaster" in result.stdout


def test_a_removed_version_file_fails(tmp_path):
    repo = new_repo(tmp_path)
    retired = copy.deepcopy(TODAY["ItemUpserted-v1.json"])
    retired["x-distsync"]["eventVersion"] = "0"
    base = commit(repo, "base with a v0", {**TODAY, "ItemUpserted-v0.json": retired})
    code, out = run(repo, "--against", base)
    assert code == 1 and [(c["file"], c["kind"]) for c in out["breaking"]] == [
        ("ItemUpserted-v0.json", "version removed")
    ]


def test_on_a_branch_the_default_base_is_the_merge_base_with_main(tmp_path):
    repo = new_repo(tmp_path)
    fork = commit(repo, "main before the branch", with_status_value("archived"))
    git(repo, "checkout", "-q", "-b", "feature")
    commit(repo, "the branch's change")
    git(repo, "checkout", "-q", "main")
    commit(repo, "main moves on", TODAY)  # the check must not compare with main's tip (it would pass)
    git(repo, "checkout", "-q", "feature")
    code, out = run(repo)
    assert out["commit"] == fork and "merge-base" in out["reason"]
    assert code == 1 and [c["kind"] for c in out["breaking"]] == ["enum value removed"]


def test_on_main_the_default_base_is_the_parent(tmp_path):
    repo = new_repo(tmp_path)
    parent = commit(repo, "before", with_status_value("archived"))
    commit(repo, "the change under review", TODAY)
    code, out = run(repo)
    assert (code, out["base"], out["commit"]) == (1, "HEAD~1", parent)


def test_no_baseline_passes_and_says_so(tmp_path):
    repo = new_repo(tmp_path)
    commit(repo, "first commit, no schemas yet")
    code, out = run(repo)  # no parent
    assert (code, out["baseline"]) == (0, False) and "no parent" in out["reason"]
    first = git(repo, "rev-parse", "HEAD")
    commit(repo, "schemas arrive", with_status_value("archived"))
    code, out = run(repo, "--against", first)  # a ref without schemas/
    assert (code, out["baseline"]) == (0, False) and "has no schemas/" in out["reason"]

    # A shallow clone of main (CI's worst case): HEAD~1 is not there, so there is no baseline.
    commit(repo, "today", TODAY)
    shallow = tmp_path / "shallow"
    subprocess.run(["git", "clone", "-q", "--depth", "1", f"file://{repo}", str(shallow)], check=True)
    code, out = run(shallow)
    assert (code, out["baseline"]) == (0, False)
    result = CliRunner().invoke(app, ["contracts", "check", "--repo", str(shallow)])
    assert result.exit_code == 0 and "no baseline" in result.stdout


def test_an_unknown_ref_or_no_repository_is_an_error_not_a_pass(tmp_path):
    repo = new_repo(tmp_path)
    commit(repo, "today", TODAY)
    code, out = run(repo, "--against", "no-such-branch")
    assert code == 2 and "no-such-branch" in out["error"]
    outside = tmp_path / "not-a-repo"
    outside.mkdir()
    code, out = run(outside)
    assert code == 2 and "not a git repository" in out["error"]


def test_run_from_a_subdirectory_it_reads_the_repository_root(tmp_path):
    repo = new_repo(tmp_path)
    base = commit(repo, "base", with_status_value("archived"))
    (repo / "docs").mkdir()
    (repo / "docs" / "x.md").write_text("x")
    commit(repo, "today", TODAY)
    code, out = run(repo / "docs", "--against", base)
    assert code == 1 and [c["kind"] for c in out["breaking"]] == ["enum value removed"]
