"""The local SFTP server (distsync/local/sftp.py) against moto's S3: a partner's key logs in, the home
prefix is the root, an upload becomes an object under it, nothing outside it is reachable; users come from the
template's AWS::Transfer::User resources as Transfer Family would read them."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import boto3
import paramiko
import pytest
from moto import mock_aws

from distsync.local.sftp import LocalSftpServer, SftpUser, local_user, users_from_template


@pytest.fixture
def s3() -> Iterator[object]:
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket="landing")
        yield client


def _connect(server: LocalSftpServer, user: str, key_file: str) -> paramiko.SFTPClient:
    transport = paramiko.Transport((server.host, server.port))
    transport.connect(username=user, pkey=paramiko.Ed25519Key.from_private_key_file(key_file))
    return paramiko.SFTPClient.from_transport(transport)


def test_an_upload_lands_under_the_home_prefix(s3: object, tmp_path: Path) -> None:
    user = local_user(tmp_path, "landing")
    assert user.private_key and Path(user.private_key).stat().st_mode & 0o077 == 0  # only the owner reads it
    server = LocalSftpServer(s3, [user], tmp_path).start()
    try:
        sftp = _connect(server, "planning", user.private_key)
        sftp.putfo(io.BytesIO(b"itemId,locationId,safetyStock,reorderPoint\n"), "w48.csv")
        assert sftp.listdir("/") == ["w48.csv"]
        assert sftp.stat("/w48.csv").st_size == 43
        assert sftp.open("../../w48.csv").read().startswith(b"itemId")  # ".." stops at the home directory
        with pytest.raises(PermissionError):
            sftp.remove("w48.csv")
        sftp.close()
        body = s3.get_object(Bucket="landing", Key="cycles/w48.csv")["Body"].read()  # type: ignore[attr-defined]
        assert body == b"itemId,locationId,safetyStock,reorderPoint\n"
        assert [o["Key"] for o in s3.list_objects_v2(Bucket="landing")["Contents"]] == ["cycles/w48.csv"]  # type: ignore[attr-defined]
        # another key is refused
        other = tmp_path / "other"
        local_user(other, "landing")
        with pytest.raises(paramiko.AuthenticationException):
            _connect(server, "planning", str(other / "sftp" / "planning_ed25519"))
    finally:
        server.stop()


def test_users_from_the_template() -> None:
    template = {"Resources": {"U": {"Type": "AWS::Transfer::User", "Properties": {
        "UserName": "kinaxis", "SshPublicKeys": ["ssh-ed25519 AAAA k"], "HomeDirectoryType": "LOGICAL",
        "HomeDirectoryMappings": [{"Entry": "/", "Target": {"Fn::Join": ["", ["/", {"Ref": "Bucket"}, "/inbound/k9"]]}}],
    }}}}
    assert users_from_template(template, {"Bucket": "landing-123"}) == [
        SftpUser("kinaxis", ("ssh-ed25519 AAAA k",), "landing-123", "inbound/k9/")]
