"""A real SFTP server on 127.0.0.1 in front of the local landing bucket, standing in for AWS Transfer Family.

Users are the template's ``AWS::Transfer::User`` resources (context ``sftpPartners``): their user name, SSH
public keys and logical home directory (``/`` -> ``/<bucket>/<prefix>``), so a partner's key works locally
as it would on AWS. A template without any (the default) gets one local user, ``planning`` on ``cycles/``,
with a key pair generated into the work directory (its private key path is listed in ``/_local/info``).

As on Transfer Family with the role ``infra/domains/sftp.py`` gives a user: the home directory is the root,
nothing outside it is reachable; files can be listed, read and written (an upload becomes one S3 object when
the client closes it, so S3's "Object Created" starts what it starts for any writer); remove, rename and
directories are refused (the role has no s3:DeleteObject). Public-key authentication only.
"""

from __future__ import annotations

import logging
import os
import posixpath
import socket
import stat
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import paramiko
from paramiko.sftp import SFTP_NO_SUCH_FILE, SFTP_OK, SFTP_OP_UNSUPPORTED, SFTP_PERMISSION_DENIED

LOCAL_USER = "planning"  # the default local partner when the template has no Transfer Family user
LOCAL_PREFIX = "cycles/"

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SftpUser:
    name: str
    public_keys: tuple[str, ...]  # OpenSSH lines: "<type> <base64> [comment]"
    bucket: str
    prefix: str  # "" or ending in "/"
    private_key: str | None = None  # the generated local user's key file

    def accepts(self, key: paramiko.PKey) -> bool:
        return any(line.split()[:2] == [key.get_name(), key.get_base64()] for line in self.public_keys)


def ed25519_pair(path: Path) -> str:
    """An Ed25519 key pair at ``path`` (OpenSSH private key) and ``path``.pub, made once; the public line."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519

    pub = path.with_suffix(".pub")
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        key = ed25519.Ed25519PrivateKey.generate()
        path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
                                           serialization.NoEncryption()))
        path.chmod(0o600)
        pub.write_bytes(key.public_key().public_bytes(serialization.Encoding.OpenSSH,
                                                      serialization.PublicFormat.OpenSSH) + b" distsync-local\n")
    return pub.read_text().strip()


def _target(value: Any, physical: dict[str, str]) -> str:
    """A mapping's Target as CloudFormation would resolve it ("/" + Ref bucket + "/prefix")."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "Ref" in value:
        return physical[value["Ref"]]
    if isinstance(value, dict) and "Fn::Join" in value:
        sep, parts = value["Fn::Join"]
        return sep.join(_target(p, physical) for p in parts)
    raise ValueError(f"cannot resolve {value!r}")


def users_from_template(template: dict[str, Any], physical: dict[str, str]) -> list[SftpUser]:
    users = []
    for res in template.get("Resources", {}).values():
        if res.get("Type") != "AWS::Transfer::User":
            continue
        p = res["Properties"]
        (mapping,) = [m for m in p.get("HomeDirectoryMappings", []) if m.get("Entry") == "/"]
        bucket, _, prefix = _target(mapping["Target"], physical).lstrip("/").partition("/")
        users.append(SftpUser(p["UserName"], tuple(p.get("SshPublicKeys", [])), bucket,
                              f"{prefix.strip('/')}/" if prefix.strip("/") else ""))
    return users


def local_user(workdir: Path, bucket: str) -> SftpUser:
    key = workdir / "sftp" / f"{LOCAL_USER}_ed25519"
    return SftpUser(LOCAL_USER, (ed25519_pair(key),), bucket, LOCAL_PREFIX, private_key=str(key))


# ------------------------------------------------------------------------------------------- the server
class _Auth(paramiko.ServerInterface):
    def __init__(self, users: dict[str, SftpUser]):
        self.users = users
        self.user: SftpUser | None = None

    def get_allowed_auths(self, username: str) -> str:
        return "publickey"

    def check_auth_publickey(self, username: str, key: paramiko.PKey) -> int:
        user = self.users.get(username)
        if user is not None and user.accepts(key):
            self.user = user
            return paramiko.AUTH_SUCCESSFUL
        return paramiko.AUTH_FAILED

    def check_channel_request(self, kind: str, chanid: int) -> int:
        return paramiko.OPEN_SUCCEEDED if kind == "session" else paramiko.OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED


def _attrs(name: str, *, size: int = 0, mtime: float | None = None, directory: bool = False) -> paramiko.SFTPAttributes:
    attrs = paramiko.SFTPAttributes()
    attrs.filename = name
    attrs.st_size = size
    attrs.st_mode = (stat.S_IFDIR | 0o755) if directory else (stat.S_IFREG | 0o644)
    attrs.st_mtime = attrs.st_atime = int(mtime if mtime is not None else time.time())
    return attrs


class _Upload(paramiko.SFTPHandle):
    """A file being written: spooled locally, one PutObject when the client closes it (as a whole object)."""

    def __init__(self, s3: Any, bucket: str, key: str, flags: int):
        super().__init__(flags)
        self.s3, self.bucket, self.key = s3, bucket, key
        self.writefile = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115 (closed below)

    def stat(self) -> paramiko.SFTPAttributes:
        return _attrs(posixpath.basename(self.key), size=self.writefile.tell())

    def close(self) -> None:
        self.writefile.seek(0)
        self.s3.upload_fileobj(self.writefile, self.bucket, self.key)
        super().close()


class _Download(paramiko.SFTPHandle):
    def __init__(self, body: bytes, name: str, flags: int):
        super().__init__(flags)
        self.readfile = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115 (closed by close)
        self.readfile.write(body)
        self.readfile.seek(0)
        self.name, self.size = name, len(body)

    def stat(self) -> paramiko.SFTPAttributes:
        return _attrs(self.name, size=self.size)


class _S3Files(paramiko.SFTPServerInterface):
    """The user's home prefix of the bucket as a file system whose root is that prefix."""

    def __init__(self, server: _Auth, *args: Any, s3: Any, **kwargs: Any):
        super().__init__(server, *args, **kwargs)
        assert server.user is not None
        self.user, self.s3 = server.user, s3

    def canonicalize(self, path: str) -> str:
        return posixpath.normpath("/" + path).replace("//", "/")

    def _key(self, path: str) -> str:
        return self.user.prefix + self.canonicalize(path).lstrip("/")

    def _dir_prefix(self, path: str) -> str:
        key = self._key(path)
        return key if not key or key.endswith("/") else key + "/"

    def list_folder(self, path: str) -> list[paramiko.SFTPAttributes] | int:
        prefix = self._dir_prefix(path) if self.canonicalize(path) != "/" else self.user.prefix
        out = []
        for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.user.bucket, Prefix=prefix,
                                                                        Delimiter="/"):
            out += [_attrs(o["Key"][len(prefix):], size=o["Size"], mtime=o["LastModified"].timestamp())
                    for o in page.get("Contents", []) if o["Key"] != prefix]
            out += [_attrs(p["Prefix"][len(prefix):].rstrip("/"), directory=True) for p in page.get("CommonPrefixes", [])]
        return out

    def stat(self, path: str) -> paramiko.SFTPAttributes | int:
        if self.canonicalize(path) == "/":
            return _attrs("/", directory=True)
        try:
            head = self.s3.head_object(Bucket=self.user.bucket, Key=self._key(path))
            return _attrs(posixpath.basename(path), size=head["ContentLength"], mtime=head["LastModified"].timestamp())
        except self.s3.exceptions.ClientError:
            listed = self.s3.list_objects_v2(Bucket=self.user.bucket, Prefix=self._dir_prefix(path), MaxKeys=1)
            return _attrs(posixpath.basename(path), directory=True) if listed.get("KeyCount") else SFTP_NO_SUCH_FILE

    lstat = stat

    def open(self, path: str, flags: int, attr: paramiko.SFTPAttributes) -> paramiko.SFTPHandle | int:
        if self.canonicalize(path) == "/":
            return SFTP_PERMISSION_DENIED
        if flags & (os.O_WRONLY | os.O_RDWR):
            if flags & os.O_APPEND:
                return SFTP_OP_UNSUPPORTED  # an S3 object is written whole
            return _Upload(self.s3, self.user.bucket, self._key(path), flags)
        try:
            body = self.s3.get_object(Bucket=self.user.bucket, Key=self._key(path))["Body"].read()
        except self.s3.exceptions.ClientError:
            return SFTP_NO_SUCH_FILE
        return _Download(body, posixpath.basename(path), flags)

    def remove(self, path: str) -> int:
        return SFTP_PERMISSION_DENIED  # the Transfer Family role has no s3:DeleteObject

    def rename(self, oldpath: str, newpath: str) -> int:
        return SFTP_PERMISSION_DENIED  # a rename is a copy and a delete on S3

    def mkdir(self, path: str, attr: paramiko.SFTPAttributes) -> int:
        return SFTP_OP_UNSUPPORTED

    def rmdir(self, path: str) -> int:
        return SFTP_PERMISSION_DENIED

    def chattr(self, path: str, attr: paramiko.SFTPAttributes) -> int:
        return SFTP_OK  # clients set times after an upload (put -p); S3 keeps its own: accepted, ignored


@dataclass
class LocalSftpServer:
    s3: Any
    users: list[SftpUser]
    workdir: Path
    host: str = "127.0.0.1"
    port: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)

    def start(self) -> LocalSftpServer:
        key_path = self.workdir / "sftp" / "host_ed25519"  # kept, so a client's known_hosts stays valid
        ed25519_pair(key_path)
        self.host_key = paramiko.Ed25519Key.from_private_key_file(str(key_path))
        self._socket = socket.create_server((self.host, self.port))
        self._socket.settimeout(0.5)
        self.port = self._socket.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, name="local-sftp", daemon=True)
        self._thread.start()
        return self

    def _serve(self) -> None:
        users = {u.name: u for u in self.users}
        while not self._stop.is_set():
            try:
                conn, _ = self._socket.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._session, args=(conn, users), name="local-sftp-session", daemon=True).start()

    def _session(self, conn: socket.socket, users: dict[str, SftpUser]) -> None:
        """One client: the SSH handshake here; paramiko's transport thread serves the sftp subsystem."""
        transport = paramiko.Transport(conn)
        transport.add_server_key(self.host_key)
        transport.set_subsystem_handler("sftp", paramiko.SFTPServer, _S3Files, s3=self.s3)
        try:
            transport.start_server(server=_Auth(users))
        except (paramiko.SSHException, EOFError, OSError) as exc:
            log.info("sftp: connection failed: %s", exc)
            transport.close()

    def info(self) -> dict[str, Any]:
        return {
            "host": self.host,
            "port": self.port,
            "hostKey": f"{self.host_key.get_name()} {self.host_key.get_base64()}",
            "users": [{"name": u.name, "bucket": u.bucket, "homePrefix": u.prefix,
                       **({"privateKey": u.private_key} if u.private_key else {})} for u in self.users],
        }

    def stop(self) -> None:
        self._stop.set()
        self._socket.close()
