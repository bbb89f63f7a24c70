"""Local signing keys: one key for everything by default (local only), or keys per source and role from
DISTSYNC_WEBHOOK_KEYS, where a name it leaves out has no key (as on AWS)."""

from __future__ import annotations

import json

import pytest

from distsync.local.stack import DEFAULT_WEBHOOK_SECRET, DeployError, local_signing_keys


def test_one_local_key_for_every_name_by_default(monkeypatch):
    monkeypatch.delenv("DISTSYNC_WEBHOOK_KEYS", raising=False)
    monkeypatch.delenv("DISTSYNC_WEBHOOK_SECRET", raising=False)
    assert local_signing_keys("erp") == local_signing_keys("planners") == [DEFAULT_WEBHOOK_SECRET]
    monkeypatch.setenv("DISTSYNC_WEBHOOK_SECRET", "mine")
    assert local_signing_keys("channels") == ["mine"]


def test_keys_per_name_and_none_for_a_name_left_out(monkeypatch):
    monkeypatch.setenv("DISTSYNC_WEBHOOK_SECRET", "ignored-when-keys-are-given")
    monkeypatch.setenv("DISTSYNC_WEBHOOK_KEYS", json.dumps({"erp": ["new", "old"], "planners": "p-key"}))
    assert local_signing_keys("erp") == ["new", "old"]
    assert local_signing_keys("planners") == ["p-key"]
    assert local_signing_keys("channels") == []


def test_keys_that_are_not_a_json_object_stop_the_start_with_the_reason(monkeypatch):
    monkeypatch.setenv("DISTSYNC_WEBHOOK_KEYS", '["erp"]')
    with pytest.raises(DeployError, match="DISTSYNC_WEBHOOK_KEYS must be a JSON object"):
        local_signing_keys("erp")
