"""Password rules and generated passwords, shared by the command line and the users page.

The rules are the ones the users page enforces (``PasswordForm``: 8 to 256
characters, not blank), so a password set from the command line could also
have been set in the browser.
"""

import secrets
import string

from portal.i18n.marks import N_

MIN_LENGTH = 8
MAX_LENGTH = 256
# In English for the command line; pages show them with ``lazy_gettext`` (see the forms).
LENGTH_TEMPLATE = N_("Password must be %(min)d to %(max)d characters.")
LENGTH_MESSAGE = LENGTH_TEMPLATE % {"min": MIN_LENGTH, "max": MAX_LENGTH}
EMPTY_MESSAGE = N_("Enter a password.")

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
