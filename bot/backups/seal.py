"""An encrypted, authenticated file format for backups, streamed in chunks.

    veteranbot-backup 1\\n
    {header as JSON}\\n
    chunk, chunk, …, last chunk

Each chunk is 64 KiB of plaintext sealed with AES-256-GCM under a key made for
this file alone; its nonce is the chunk's number and a flag on the last one,
and its associated data the header's hash (age's STREAM construction). So a
changed header, a reordered, missing or altered chunk, and a file cut short,
even at a chunk boundary, all fail to open.

The file key comes from a passphrase (scrypt, the salt in the header) or a
public key (X25519 with a fresh ephemeral key, through HKDF): a node that only
holds the public key can write backups it cannot read.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

MAGIC = b"veteranbot-backup 1\n"
CHUNK = 64 * 1024
_TAG = 16
# scrypt at 2**17 takes 128 MiB and about half a second: guessing passphrases
# costs the same for anyone holding a copy of the backup.
SCRYPT = {"n": 2**17, "r": 8, "p": 1}
PUBLIC_PREFIX = "veteranbot-backup-public-"
SECRET_PREFIX = "veteranbot-backup-secret-"
_HEADER_MAX = 64 * 1024


class SealError(ValueError):
    """The file is not a backup, or cannot be opened with what was given; the message says which."""


@dataclass(frozen=True)
class Passphrase:
    text: str


@dataclass(frozen=True)
class PublicKey:
    """A recipient: writes backups that only the matching secret opens."""

    key: X25519PublicKey

    @classmethod
    def parse(cls, line: str) -> PublicKey:
        return cls(X25519PublicKey.from_public_bytes(_decode(line, PUBLIC_PREFIX)))

    def text(self) -> str:
        return PUBLIC_PREFIX + _b64(_raw(self.key))


@dataclass(frozen=True)
class SecretKey:
    """An identity: opens backups written to its public key."""

    key: X25519PrivateKey

    @classmethod
    def generate(cls) -> SecretKey:
        return cls(X25519PrivateKey.generate())

    @classmethod
    def parse(cls, line: str) -> SecretKey:
        return cls(X25519PrivateKey.from_private_bytes(_decode(line, SECRET_PREFIX)))

    def text(self) -> str:
        raw = self.key.private_bytes(
            serialization.Encoding.Raw,
            serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        )
        return SECRET_PREFIX + _b64(raw)

    def public(self) -> PublicKey:
        return PublicKey(self.key.public_key())


class Writer:
    """Seals what is written to it into out; close() seals the last chunk."""

    def __init__(self, out: BinaryIO, to: Passphrase | PublicKey, about: dict):
        lock, key = _new_lock(to)
        header = json.dumps({**about, "lock": lock}, ensure_ascii=False, sort_keys=True).encode()
        out.write(MAGIC + header + b"\n")
        self._out, self._aead, self._aad = out, AESGCM(key), hashlib.sha256(header).digest()
        self._buffer, self._counter = bytearray(), 0

    def write(self, data: bytes) -> None:
        self._buffer += data
        # Hold back at least one byte: only close() knows which chunk is the last.
        while len(self._buffer) > CHUNK:
            self._seal(bytes(self._buffer[:CHUNK]), last=False)
            del self._buffer[:CHUNK]

    def close(self) -> None:
        self._seal(bytes(self._buffer), last=True)
        self._buffer.clear()

    def _seal(self, chunk: bytes, last: bool) -> None:
        self._out.write(self._aead.encrypt(_nonce(self._counter, last), chunk, self._aad))
        self._counter += 1


def read_header(inp: BinaryIO) -> dict:
    """The header of a sealed file (readable without any key), positioned at its first chunk."""
    if inp.read(len(MAGIC)) != MAGIC:
        raise SealError("不是 veteranbot backup 写的备份文件")
    line = inp.readline(_HEADER_MAX)
    try:
        header = json.loads(line)
    except ValueError:
        raise SealError("备份文件头损坏") from None
    if not isinstance(header, dict) or not isinstance(header.get("lock"), dict):
        raise SealError("备份文件头损坏")
    header["_raw"] = line.rstrip(b"\n")
    return header


def opened(inp: BinaryIO, header: dict, key: Passphrase | SecretKey) -> Iterator[bytes]:
    """The plaintext, chunk by chunk; SealError at the first chunk that fails.

    A caller must not treat what it received as whole until the iterator ends.
    """
    aead = AESGCM(_file_key(header["lock"], key))
    aad = hashlib.sha256(header["_raw"]).digest()
    counter, held = 0, inp.read(CHUNK + _TAG)
    while True:
        following = inp.read(CHUNK + _TAG)
        last = not following
        try:
            yield aead.decrypt(_nonce(counter, last), held, aad)
        except InvalidTag:
            if counter == 0:
                raise SealError("打不开：口令或私钥不对（或文件头被改过）") from None
            raise SealError(f"备份文件在第 {counter + 1} 块损坏或被截断") from None
        if last:
            return
        counter, held = counter + 1, following


def _new_lock(to: Passphrase | PublicKey) -> tuple[dict, bytes]:
    """What the header records to find the file key again, and the key."""
    if isinstance(to, Passphrase):
        lock = {"type": "scrypt", "salt": _b64(os.urandom(16)), **SCRYPT}
        return lock, _scrypt(lock, to.text)
    ephemeral = X25519PrivateKey.generate()
    lock = {
        "type": "x25519",
        "ephemeral": _b64(_raw(ephemeral.public_key())),
        "recipient": _fingerprint(to.key),
    }
    return lock, _hkdf(ephemeral.exchange(to.key), lock, to.key)


def _file_key(lock: dict, key: Passphrase | SecretKey) -> bytes:
    kind = lock.get("type")
    if kind == "scrypt":
        if not isinstance(key, Passphrase):
            raise SealError("这份备份是用口令加密的：请给口令（--passphrase-file）")
        return _scrypt(lock, key.text)
    if kind == "x25519":
        if not isinstance(key, SecretKey):
            raise SealError("这份备份是用公钥加密的：请给私钥文件（--identity）")
        public = key.key.public_key()
        if _fingerprint(public) != lock["recipient"]:
            raise SealError(f"这份备份是写给另一把公钥（{lock['recipient']}）的")
        ephemeral = X25519PublicKey.from_public_bytes(_unb64(lock["ephemeral"]))
        return _hkdf(key.key.exchange(ephemeral), lock, public)
    raise SealError(f"不认识的加密方式 {kind!r}")


def _scrypt(lock: dict, passphrase: str) -> bytes:
    if not all(isinstance(lock.get(k), int) for k in ("n", "r", "p")) or lock["n"] > 2**20:
        # A forged header must not make the reader spend gigabytes.
        raise SealError("备份文件头里的 scrypt 参数不对")
    kdf = Scrypt(salt=_unb64(lock["salt"]), length=32, n=lock["n"], r=lock["r"], p=lock["p"])
    return kdf.derive(passphrase.encode())


def _hkdf(shared: bytes, lock: dict, recipient: X25519PublicKey) -> bytes:
    # Both public keys in the salt bind the file key to this exchange (as age does).
    salt = _unb64(lock["ephemeral"]) + _raw(recipient)
    hkdf = HKDF(hashes.SHA256(), length=32, salt=salt, info=b"veteranbot-backup 1")
    return hkdf.derive(shared)


def _nonce(counter: int, last: bool) -> bytes:
    return counter.to_bytes(11, "big") + (b"\x01" if last else b"\x00")


def _fingerprint(public: X25519PublicKey) -> str:
    digest = hashlib.sha256(_raw(public)).hexdigest()
    return "-".join(digest[i : i + 4] for i in range(0, 16, 4))


def _raw(public: X25519PublicKey) -> bytes:
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def _decode(line: str, prefix: str) -> bytes:
    line = line.strip()
    if not line.startswith(prefix):
        raise SealError(f"不是 {prefix}… 开头的密钥")
    try:
        raw = _unb64(line.removeprefix(prefix))
    except ValueError:
        raise SealError("密钥损坏") from None
    if len(raw) != 32:
        raise SealError("密钥损坏")
    return raw


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
