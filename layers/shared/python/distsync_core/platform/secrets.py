"""Signing keys from Secrets Manager (cached for five minutes by Powertools parameters).

Each partner source (erp, planning, wms, tms, supplier) and API role (channels, planners, operations) has its
own secret; a function's ``SIGNING_KEY_ARNS`` names only the ones it verifies, so a key of another source or
role is never tried. A secret holds one key, or during a rotation a JSON list of keys, newest first: both
verify until the old one is removed (``distsync keys rotate <name> [--finish]``).
"""

from __future__ import annotations

import json
import os

from .config import env

CACHE_SECONDS = 300
PARTNER_SOURCES = frozenset({"erp", "planning", "wms", "tms", "supplier"})


def signing_keys(name: str) -> list[str]:
    """The keys that verify requests signed as ``name``; none for a name this function does not serve."""
    from aws_lambda_powertools.utilities import parameters

    arn = json.loads(env("SIGNING_KEY_ARNS")).get(name)
    keys = keys_in(str(parameters.get_secret(arn, max_age=CACHE_SECONDS))) if arn else []
    legacy = os.environ.get("LEGACY_WEBHOOK_SECRET_ARN")  # only set while partners move to their own keys
    if legacy and name in PARTNER_SOURCES:
        keys += keys_in(str(parameters.get_secret(legacy, max_age=CACHE_SECONDS)))
    return keys


def keys_in(value: str) -> list[str]:
    """A secret's keys: the value itself, or a JSON list of keys (a rotation: newest first)."""
    if not value.lstrip().startswith("["):
        return [value] if value else []
    keys = json.loads(value)
    if not isinstance(keys, list):
        raise ValueError("a signing key secret is a key or a JSON list of keys")
    return [k for k in keys if isinstance(k, str) and k]
