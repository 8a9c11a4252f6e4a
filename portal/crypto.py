"""Encryption at rest for sender passwords (Fernet), keyed apart from the session key."""

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken
from flask import current_app
from flask_babel import gettext


class SecretUnreadable(Exception):
    """A stored secret cannot be decrypted (the encryption key changed)."""


def _fernet() -> Fernet:
    """Any configured text becomes a valid Fernet key by hashing it."""
    key = current_app.config["ENCRYPTION_KEY"]
    digest = hashlib.sha256(key.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def encrypt(plaintext: str) -> str:
    return _fernet().encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _fernet().decrypt(token.encode()).decode()
    except (InvalidToken, ValueError) as error:
        raise SecretUnreadable(gettext(
            "The stored password cannot be decrypted: the encryption key has changed. "
            "Enter the password again and save.")) from error
