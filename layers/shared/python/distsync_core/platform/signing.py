"""HMAC-SHA256 webhook signatures with a timestamp and a replay window.

Signature header: ``sha256=<hex HMAC-SHA256(secret, "<timestamp>.<raw body>")>``; timestamp header: unix
seconds. Several secrets may be valid at once (rotation): any one of them verifies.

Requests whose meaning depends on their path sign the request target too (:func:`request_target`): a GET
``"<timestamp>.GET <path>"``, a decision ``"<timestamp>.POST <path>.<raw body>"``, so a decision signed for
one approval cannot be sent to another.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable

TIMESTAMP_HEADER = "X-Distsync-Timestamp"
SIGNATURE_HEADER = "X-Distsync-Signature"
REPLAY_WINDOW_SECONDS = 300
_PREFIX = "sha256="


class SignatureError(Exception):
    """The request is not authentic or not fresh; the message says which, without leaking secrets."""


def sign(secret: str, timestamp: int | str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return _PREFIX + mac.hexdigest()


def request_target(method: str, path: str, body: bytes | None = None) -> bytes:
    """What a request bound to its path signs in place of the bare body."""
    target = f"{method} {path}".encode()
    return target if body is None else target + b"." + body


def signed_headers(secret: str, body: bytes, now: float) -> dict[str, str]:
    timestamp = str(int(now))
    return {TIMESTAMP_HEADER: timestamp, SIGNATURE_HEADER: sign(secret, timestamp, body)}


def verify(
    secrets: Iterable[str],
    timestamp: str | None,
    signature: str | None,
    body: bytes,
    now: float,
    window_seconds: int = REPLAY_WINDOW_SECONDS,
) -> None:
    if not timestamp:
        raise SignatureError(f"missing {TIMESTAMP_HEADER} header")
    if not signature:
        raise SignatureError(f"missing {SIGNATURE_HEADER} header")
    if not timestamp.isascii() or not timestamp.isdigit() or len(timestamp) > 12:
        raise SignatureError(f"{TIMESTAMP_HEADER} must be unix seconds")
    skew = abs(now - int(timestamp))
    if skew > window_seconds:
        raise SignatureError(f"timestamp outside the {window_seconds} s window (skew {int(skew)} s)")
    if not signature.startswith(_PREFIX) or not signature.isascii():  # compare_digest raises on non-ASCII str
        raise SignatureError(f"{SIGNATURE_HEADER} must look like sha256=<hex>")
    keys = [s for s in secrets if s]
    if not keys:  # a source or role without a key of its own: refused, never a default key
        raise SignatureError("no signing key is configured for this sender")
    if not any(hmac.compare_digest(sign(k, timestamp, body), signature) for k in keys):
        raise SignatureError("signature does not match")
