"""Field encryption and keyed hashing for ID numbers, and masking for display."""

from __future__ import annotations

import hashlib
import hmac

from cryptography.fernet import Fernet
from flask import current_app


class FieldCipher:
    """Encrypts sensitive fields with Fernet and hashes them with a derived HMAC key."""

    def __init__(self, data_key: str):
        self._fernet = Fernet(data_key)
        # A separate key for look-ups, so the hash reveals nothing about the cipher key.
        self._hash_key = hmac.new(data_key.encode(), b"veteranbot/id-lookup", "sha256").digest()

    def encrypt(self, value: str) -> str:
        """Encrypt a value to URL-safe text."""
        return self._fernet.encrypt(value.encode()).decode()

    def decrypt(self, token: str) -> str:
        """Decrypt a value produced by encrypt."""
        return self._fernet.decrypt(token.encode()).decode()

    def lookup_hash(self, value: str) -> str:
        """A keyed hash of a normalised value, for unique look-ups without decrypting."""
        return hmac.new(self._hash_key, value.upper().encode(), hashlib.sha256).hexdigest()


def cipher() -> FieldCipher:
    """The current app's field cipher."""
    return current_app.extensions["cipher"]


def mask_id(id_number: str) -> str:
    """Show the first 6 and last 4 characters of an ID number: 513429********123X."""
    return id_number[:6] + "*" * (len(id_number) - 10) + id_number[-4:]


def mask_phone(phone: str) -> str:
    """Show a mobile number as 139****4567."""
    return phone[:3] + "****" + phone[-4:] if len(phone) == 11 else "****"
