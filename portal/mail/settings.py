"""Plain connection settings for one sender account, independent of the database model."""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from portal.mail.oauth import TokenSource

ENCRYPTIONS = ("ssl", "starttls", "none")


@dataclass(frozen=True)
class SmtpSettings:
    """Everything needed to open an SMTP session for one sender.

    ``password`` is excluded from ``repr`` so settings can be logged or shown in a
    traceback without leaking the secret. ``ca_cert`` is PEM text trusted in addition
    to the system store, for this sender only. ``oauth`` (set for OAuth2 senders) is
    where the bearer token for the XOAUTH2 login comes from; ``password`` is then unused.
    """

    host: str
    port: int
    encryption: str
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    ca_cert: str | None = field(default=None, repr=False)
    timeout: float = 15.0
    # Log in on a connection without TLS (the password crosses the network readable);
    # only when an admin chose it for this sender.
    allow_plain_auth: bool = False
    oauth: TokenSource | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        """Reject settings that could never work, before any network traffic."""
        if self.encryption not in ENCRYPTIONS:
            raise ValueError(f"encryption must be one of {', '.join(ENCRYPTIONS)}")
        if not self.host or not self.host.strip():
            raise ValueError("host is required")
        if not 0 < int(self.port) < 65536:
            raise ValueError("port must be between 1 and 65535")
        if not self.timeout or self.timeout <= 0:
            raise ValueError("timeout must be positive")

    def tls_context(self) -> ssl.SSLContext:
        """A verifying TLS context: the system store plus this sender's own CA certificate.

        Verification and hostname checks are never switched off; the fix for a
        private server is its CA certificate. Raises ``ssl.SSLError`` for unreadable PEM.
        """
        context = ssl.create_default_context()
        if self.ca_cert:
            context.load_verify_locations(cadata=self.ca_cert)
        return context
