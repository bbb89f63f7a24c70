"""Webhook signing secrets from Secrets Manager (cached for five minutes by Powertools parameters).

The secret value is either the shared secret itself or, during a rotation, a JSON object
``{"secrets": ["<new>", "<old>"]}`` so both partners' keys verify until the old one is removed.
"""

from __future__ import annotations

import json

from ..config import env

CACHE_SECONDS = 300


def webhook_secrets() -> list[str]:
    from aws_lambda_powertools.utilities import parameters

    value = str(parameters.get_secret(env("WEBHOOK_SECRET_ARN"), max_age=CACHE_SECONDS))
    if value.lstrip().startswith("{"):
        return [s for s in json.loads(value).get("secrets", []) if isinstance(s, str) and s]
    return [value]
