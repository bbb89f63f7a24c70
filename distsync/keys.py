"""Signing keys of a stack, deployed or local: one Secrets Manager secret per partner source and API role
(stack output ``SigningKeyArns``). A secret holds one key, or during a rotation a JSON list, newest first."""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass
from typing import Any

from distsync_core.platform.secrets import keys_in

KEY_BYTES = 36  # 48 URL-safe characters, as long as the keys CloudFormation generates


class SigningKeyError(RuntimeError):
    pass


@dataclass
class SigningKeys:
    secretsmanager: Any  # a boto3 Secrets Manager client pointed at the stack's account (or the local moto)
    arns: dict[str, str]  # source or role -> secret ARN

    @classmethod
    def of(cls, secretsmanager: Any, outputs: dict[str, str]) -> SigningKeys:
        if "SigningKeyArns" not in outputs:
            raise SigningKeyError("the stack has no SigningKeyArns output (deployed before per-source keys?)")
        return cls(secretsmanager, json.loads(outputs["SigningKeyArns"]))

    def names(self) -> list[str]:
        return sorted(self.arns)

    def keys(self, name: str) -> list[str]:
        value = self.secretsmanager.get_secret_value(SecretId=self._arn(name))["SecretString"]
        return keys_in(value)

    def current(self, name: str) -> str:
        """The key to sign as ``name`` with: the newest."""
        keys = self.keys(name)
        if not keys:
            raise SigningKeyError(f"the signing key secret of {name} is empty")
        return keys[0]

    def rotate(self, name: str) -> list[str]:
        """Add a new key before the current one; both verify until :meth:`finish`."""
        keys = self.keys(name)
        if len(keys) > 1:
            raise SigningKeyError(f"{name} is already rotating ({len(keys)} keys): finish it first "
                            f"(`distsync keys rotate {name} --finish`)")
        new = [secrets.token_urlsafe(KEY_BYTES), *keys]
        self._put(name, new)
        return new

    def finish(self, name: str) -> list[str]:
        """Keep only the newest key: the old one stops verifying (within the functions' 5-minute cache)."""
        keys = self.keys(name)
        if len(keys) < 2:
            raise SigningKeyError(f"{name} is not rotating: nothing to finish")
        self._put(name, keys[:1])
        return keys[:1]

    def _put(self, name: str, keys: list[str]) -> None:
        self.secretsmanager.put_secret_value(SecretId=self._arn(name), SecretString=json.dumps(keys))

    def _arn(self, name: str) -> str:
        if name not in self.arns:
            raise SigningKeyError(f"no signing key named {name!r}; the stack has {', '.join(self.names())}")
        return self.arns[name]


@dataclass
class ApiKeys:
    """API keys of a stack, deployed or local: one API Gateway usage plan per partner source and API role
    (stack output ``UsagePlanIds``), each with the keys issued to that partner. The key identifies and meters
    a caller (x-api-key); the signing key above authenticates it. Keys are issued here, not by CloudFormation,
    so a rotation can keep two on a plan: ``issue`` the new one, hand it over, ``retire`` the old."""

    apigateway: Any  # a boto3 API Gateway client pointed at the stack's account (or the local moto)
    plans: dict[str, str]  # source or role -> usage plan id

    @classmethod
    def of(cls, apigateway: Any, outputs: dict[str, str]) -> ApiKeys:
        if "UsagePlanIds" not in outputs:
            raise SigningKeyError("the stack has no UsagePlanIds output (deployed before partner limits?)")
        return cls(apigateway, json.loads(outputs["UsagePlanIds"]))

    def names(self) -> list[str]:
        return sorted(self.plans)

    def keys(self, name: str) -> list[dict[str, Any]]:
        """The keys on ``name``'s plan, newest first: id, name, enabled, createdDate (no values)."""
        plan = self._plan(name)
        ids = [k["id"] for page in self.apigateway.get_paginator("get_usage_plan_keys").paginate(usagePlanId=plan)
               for k in page.get("items", [])]
        keys = [self.apigateway.get_api_key(apiKey=key_id, includeValue=False) for key_id in ids]
        found = [{"id": k["id"], "name": k.get("name", ""), "enabled": bool(k.get("enabled")),
                  "createdDate": str(k.get("createdDate", ""))} for k in keys]
        return sorted(found, key=lambda k: (k["createdDate"], k["name"]), reverse=True)

    def current(self, name: str) -> str:
        """The value of ``name``'s newest enabled key (what to send as x-api-key)."""
        for key in self.keys(name):
            if key["enabled"]:
                return str(self.apigateway.get_api_key(apiKey=key["id"], includeValue=True)["value"])
        raise SigningKeyError(f"{name} has no API key: issue one with `distsync keys issue {name}`")

    def issue(self, name: str, stack_name: str) -> dict[str, str]:
        """A new enabled key on ``name``'s plan; its value is returned once here (and readable with ``show``)."""
        plan = self._plan(name)
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        key = self.apigateway.create_api_key(name=f"{stack_name}-{name}-{stamp}", enabled=True,
                                             description=f"x-api-key of {name} (distsync keys issue)",
                                             tags={"distsync:usage-plan": name})
        self.apigateway.create_usage_plan_key(usagePlanId=plan, keyId=key["id"], keyType="API_KEY")
        return {"name": name, "id": key["id"], "value": key["value"]}

    def retire(self, name: str, key_id: str) -> None:
        """Take the key off ``name``'s plan and delete it: it stops working at once (API Gateway answers 403)."""
        if key_id not in {k["id"] for k in self.keys(name)}:
            raise SigningKeyError(f"{key_id} is not a key of {name}; its keys: "
                                  f"{', '.join(k['id'] for k in self.keys(name)) or 'none'}")
        self.apigateway.delete_usage_plan_key(usagePlanId=self._plan(name), keyId=key_id)
        self.apigateway.delete_api_key(apiKey=key_id)

    def _plan(self, name: str) -> str:
        if name not in self.plans:
            raise SigningKeyError(f"no usage plan for {name!r}; the stack has {', '.join(self.names())}")
        return self.plans[name]
