"""Synthesizes the distsync stack in-process, once per distinct context, for the whole session.

A synth costs 5-10 s and ~1 GB (jsii runs Node), so every test shares the cached result of ``synth()``.
The context is cdk.json's (defaults + feature flags, exactly what the CLI uses) plus the test's overrides.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from synth_support import PROD_CONTEXT, Synth, synthesize


@pytest.fixture(scope="session")
def synth() -> Callable[..., Synth]:
    """``synth(**context_overrides)``: the synthesized stack, cached per distinct context."""
    cache: dict[str, Synth] = {}

    def get(**overrides: Any) -> Synth:
        key = json.dumps(overrides, sort_keys=True)
        if key not in cache:
            cache[key] = synthesize(overrides)
        return cache[key]

    return get


@pytest.fixture(scope="session")
def dev(synth: Callable[..., Synth]) -> Synth:
    """The stack with cdk.json's context (stage dev)."""
    return synth()


@pytest.fixture(scope="session")
def prod(synth: Callable[..., Synth]) -> Synth:
    """The stack with every contract context key overridden (as strings, like ``-c key=value``)."""
    return synth(**PROD_CONTEXT)
