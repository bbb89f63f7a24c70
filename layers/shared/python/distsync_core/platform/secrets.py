"""Webhook signing secrets from Secrets Manager (cached for five minutes by Powertools parameters).

The secret value is the shared secret itself, or a JSON object with a list per webhook source and/or a
default list: ``{"sources": {"erp": ["<new>", "<old>"], "planning": ["<key>"]}, "secrets": ["<default>"]}``.
During a rotation a list holds the new and the old key, so both verify until the old one is removed.
"""

from __future__ import annotations

import json

from .config import env

CACHE_SECONDS = 300


def webhook_secrets(source: str | None = None) -> list[str]:
    from aws_lambda_powertools.utilities import parameters

    return secrets_for(str(parameters.get_secret(env("WEBHOOK_SECRET_ARN"), max_age=CACHE_SECONDS)), source)


def secrets_for(value: str, source: str | None) -> list[str]:
    if not value.lstrip().startswith("{"):
        return [value]
    config = json.loads(value)
    per_source = config.get("sources", {}).get(source) if source else None
    chosen = per_source if per_source is not None else config.get("secrets", [])
    return [s for s in chosen if isinstance(s, str) and s]
