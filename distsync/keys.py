"""Signing keys of a stack, deployed or local: one Secrets Manager secret per partner source and API role
(stack output ``SigningKeyArns``). A secret holds one key, or during a rotation a JSON list, newest first."""

from __future__ import annotations

import json
import secrets
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
