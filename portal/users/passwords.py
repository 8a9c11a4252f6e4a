"""Password rules and generated passwords, shared by the command line and the users page.

The rules are the ones the users page enforces (``PasswordForm``: 8 to 256
characters, not blank), so a password set from the command line could also
have been set in the browser.
"""

import secrets
import string

MIN_LENGTH = 8
MAX_LENGTH = 256
LENGTH_MESSAGE = f"Password must be {MIN_LENGTH} to {MAX_LENGTH} characters."
EMPTY_MESSAGE = "Enter a password."

# Letters and digits only: nothing to quote in a shell, nothing mistaken for an option.
_ALPHABET = string.ascii_letters + string.digits
GENERATED_LENGTH = 20  # about 119 bits


def problem(password: str) -> str | None:
    """What is wrong with ``password`` under the users page's rules, or None when it is fine."""
    if not password or not password.strip():
        return EMPTY_MESSAGE
    if not MIN_LENGTH <= len(password) <= MAX_LENGTH:
        return LENGTH_MESSAGE
    return None


def generate() -> str:
    """A new random password, strong enough to be used as it is."""
    return "".join(secrets.choice(_ALPHABET) for _ in range(GENERATED_LENGTH))
