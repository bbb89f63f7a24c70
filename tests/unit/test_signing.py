import pytest

from distsync_core.platform.signing import SignatureError, sign, signed_headers, verify

BODY = b'{"hello": "world"}'
NOW = 1_800_000_000


def test_signature_is_hmac_sha256_of_timestamp_dot_body():
    import hashlib
    import hmac

    expected = hmac.new(b"s3cret", b"1800000000." + BODY, hashlib.sha256).hexdigest()
    assert sign("s3cret", NOW, BODY) == f"sha256={expected}"


def test_valid_signature_within_window_verifies():
    headers = signed_headers("s3cret", BODY, NOW - 299)
    verify(["s3cret"], headers["X-Distsync-Timestamp"], headers["X-Distsync-Signature"], BODY, NOW)


@pytest.mark.parametrize(
    ("timestamp", "signature", "body", "reason"),
    [
        (None, "sha256=00", BODY, "missing X-Distsync-Timestamp"),
        (str(NOW), None, BODY, "missing X-Distsync-Signature"),
        ("yesterday", "sha256=00", BODY, "unix seconds"),
        (str(NOW - 301), sign("s3cret", NOW - 301, BODY), BODY, "outside the 300 s window"),
        (str(NOW + 301), sign("s3cret", NOW + 301, BODY), BODY, "outside the 300 s window"),
        (str(NOW), sign("s3cret", NOW, BODY).removeprefix("sha256="), BODY, "sha256=<hex>"),
        (str(NOW), "sha256=" + "\u00e9" * 64, BODY, "sha256=<hex>"),  # non-ASCII: not a crash in compare_digest
        (str(NOW), sign("other", NOW, BODY), BODY, "does not match"),
        (str(NOW), sign("s3cret", NOW, BODY), BODY + b" ", "does not match"),
        (str(NOW), sign("s3cret", NOW - 1, BODY), BODY, "does not match"),
    ],
)
def test_bad_signatures_are_refused_with_the_reason(timestamp, signature, body, reason):
    with pytest.raises(SignatureError, match=reason):
        verify(["s3cret"], timestamp, signature, body, NOW)


def test_any_secret_of_a_rotation_verifies():
    headers = signed_headers("old", BODY, NOW)
    verify(["new", "old"], headers["X-Distsync-Timestamp"], headers["X-Distsync-Signature"], BODY, NOW)
    with pytest.raises(SignatureError):
        verify(["new"], headers["X-Distsync-Timestamp"], headers["X-Distsync-Signature"], BODY, NOW)
