"""Field encryption and keyed hashing for ID numbers, and masking for display.

The cipher holds a key ring: DATA_KEY encrypts, and the previous keys of a
rotation in progress (DATA_KEY_PREVIOUS) are still read, so no row becomes
unreadable while `veteranbot keys rotate` re-encrypts them one batch at a time.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from flask import current_app


class FieldCipher:
    """Encrypts sensitive fields with Fernet and hashes them with a derived HMAC key."""

    def __init__(self, data_key: str, previous: Sequence[str] = ()):
        keys = [data_key, *(k for k in previous if k != data_key)]
        self._primary = Fernet(data_key)
        self._ring = MultiFernet([Fernet(k) for k in keys])
        # A separate key for look-ups, so the hash reveals nothing about the cipher key.
        self._hash_keys = [_hash_key(k) for k in keys]
        self.fingerprints = tuple(fingerprint(k) for k in keys)

    @property
    def fingerprint(self) -> str:
        """The fingerprint of the key that encrypts."""
        return self.fingerprints[0]

    @property
    def rotating(self) -> bool:
        """Whether previous keys are still read (a rotation is under way)."""
        return len(self.fingerprints) > 1

    def encrypt(self, value: str) -> str:
        """Encrypt a value to URL-safe text, under DATA_KEY."""
        return self._primary.encrypt(value.encode()).decode()

    def decrypt(self, token: str) -> str:
        """Decrypt a value produced by encrypt under any key of the ring."""
        return self._ring.decrypt(token.encode()).decode()

    def is_current(self, token: str) -> bool:
        """Whether the value was encrypted under DATA_KEY (nothing left to rotate)."""
        try:
            self._primary.decrypt(token.encode())
        except InvalidToken:
            return False
        return True

    def lookup_hash(self, value: str) -> str:
        """A keyed hash of a normalised value, for unique look-ups without decrypting.

        Under DATA_KEY: what a row written now holds, and what rotation writes.
        """
        return _hmac(self._hash_keys[0], value)

    def lookup_hashes(self, value: str) -> list[str]:
        """The value's hash under every key of the ring, DATA_KEY's first.

        A row not yet rotated still holds the hash under its old key; a look-up
        must find it, or a veteran re-registering mid-rotation would get a second file.
        """
        return [_hmac(k, value) for k in self._hash_keys]


def _hash_key(data_key: str) -> bytes:
    return hmac.new(data_key.encode(), b"veteranbot/id-lookup", "sha256").digest()


def _hmac(key: bytes, value: str) -> str:
    return hmac.new(key, value.upper().encode(), hashlib.sha256).hexdigest()


def fingerprint(data_key: str) -> str:
    """A short name for a key that reveals nothing of it: `3f2a-91c0-5b7e-d418`.

    An HMAC under the key itself, so it can be printed, logged and compared
    between nodes and backups; telling two keys apart is all it can do.
    """
    digest = hmac.new(data_key.encode(), b"veteranbot/key-fingerprint", "sha256").hexdigest()
    return "-".join(digest[i : i + 4] for i in range(0, 16, 4))


def cipher() -> FieldCipher:
    """The current app's field cipher."""
    return current_app.extensions["cipher"]


def mask_id(id_number: str) -> str:
    """Show the first 6 and last 4 characters of an ID number: 513429********123X."""
    return id_number[:6] + "*" * (len(id_number) - 10) + id_number[-4:]


def mask_phone(phone: str) -> str:
    """Show a mobile number as 139****4567."""
    return phone[:3] + "****" + phone[-4:] if len(phone) == 11 else "****"
