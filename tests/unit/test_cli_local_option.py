"""`--local` with or without a URL (the README promises `--local [URL]`; issue 12, finding 18), and a clear
sentence, not a traceback, when no local stack answers."""

from __future__ import annotations

import socket

import pytest

from distsync.cli import with_local_default
from distsync.target import LOCAL_DEFAULT_URL, OpsError, connect


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["kpis", "--local"], ["kpis", "--local", LOCAL_DEFAULT_URL]),
        (["kpis", "--local", "--json"], ["kpis", "--local", LOCAL_DEFAULT_URL, "--json"]),
        (["kpis", "--local", "http://127.0.0.1:9000"], ["kpis", "--local", "http://127.0.0.1:9000"]),
        (["kpis", "--json"], ["kpis", "--json"]),
        (["files", "put", "--", "--local"], ["files", "put", "--", "--local"]),  # an argument, not the option
    ],
)
def test_local_without_a_url_means_the_default_local_stack(args, expected, monkeypatch):
    monkeypatch.delenv("DISTSYNC_LOCAL_URL", raising=False)
    assert with_local_default(args) == expected


def test_local_without_a_url_takes_distsync_local_url_first(monkeypatch):
    monkeypatch.setenv("DISTSYNC_LOCAL_URL", "http://127.0.0.1:18080")
    assert with_local_default(["dlq", "list", "--local"]) == ["dlq", "list", "--local", "http://127.0.0.1:18080"]


def test_no_local_stack_is_a_sentence_not_a_traceback():
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(OpsError, match=f"no local stack answers at http://127.0.0.1:{port}"):
        connect(f"http://127.0.0.1:{port}", "distsync-dev")
