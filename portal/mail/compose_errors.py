"""Refusals of values that cannot go into a mail (shared by composition and attachments)."""

from portal.i18n.marks import N_

ONE_LINE = N_("%(field)s must be one line, without line breaks or control characters")
NOT_AN_ADDRESS = N_("%(field)s: %(value)s is not a valid address")


class ComposeError(ValueError):
    """A value that cannot go into a mail; ``field`` names the offending input.

    ``message`` is an English msgid with named placeholders filled from ``params``:
    ``str(error)`` reads English (logs, stored diagnoses), ``localized()`` the reader's
    language."""

    def __init__(self, field: str, message: str, /, **params) -> None:
        super().__init__(message % params if params else message)
        self.field = field
        self.message = message
        self.params = params

    def localized(self) -> str:
        """The message in the current locale."""
        from flask_babel import gettext

        return gettext(self.message, **self.params)


class HeaderInjectionError(ComposeError):
    """A header value contains CR, LF or another control character."""


class InvalidAddressError(ComposeError):
    """A value that should be an e-mail address is not one."""
