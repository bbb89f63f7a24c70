"""Function configuration from environment variables, read when first needed (never at import)."""

from __future__ import annotations

import os


class ConfigError(RuntimeError):
    pass


def env(name: str, default: str | None = None) -> str:
    value = os.environ.get(name, default)
    if value is None or value == "":
        raise ConfigError(f"environment variable {name} is not set")
    return value


def env_int(name: str, default: int | None = None) -> int:
    return int(env(name, None if default is None else str(default)))


def env_float(name: str, default: float | None = None) -> float:
    return float(env(name, None if default is None else str(default)))


def env_flag(name: str, default: bool) -> bool:
    """``true``/``false`` (as the stack writes context flags); unset: ``default``."""
    value = os.environ.get(name, "").strip().lower()
    if not value:
        return default
    if value not in ("true", "false"):
        raise ConfigError(f"environment variable {name} must be true or false, got {value!r}")
    return value == "true"
