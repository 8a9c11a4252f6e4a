"""The OAuth2 half of an SMTP login: the token step and the XOAUTH2 AUTH command.

An OAuth2 sender first gets a bearer token (the probe panel's "token" step, before
connect), then logs in with SASL XOAUTH2 as its mailbox. A 535 after a token from the
cache may only mean the token went stale early (revoked, or the mailbox's permission
changed): then exactly one fresh token is fetched and the login tried once more. A
token fetched just now is never retried: the refusal is the real answer.
"""

from __future__ import annotations

import smtplib
from datetime import UTC, datetime

from portal.mail.errors import DeliveryError, classify, from_reply
from portal.mail.link import xoauth2
from portal.mail.oauth import AccessToken, get_token


class OAuthLogin:
    """Mixed into ``SmtpSession``: uses its ``settings``, ``_smtp``, ``_emit``, ``_failed``."""

    _token: AccessToken | None = None

    @property
    def _account(self) -> str:
        source = self.settings.oauth
        return source.account or self.settings.username or "?"

    def _token_step(self, force: bool = False) -> None:
        """Get a bearer token (cached unless ``force``) and report it as a step."""
        try:
            self._token = get_token(self.settings.oauth, force=force)
        except DeliveryError as err:
            raise self._failed(err) from err
        expires = datetime.fromtimestamp(self._token.expires_at, UTC)
        origin = "new" if self._token.fresh else "cached"
        self._emit("token", True, None, f"got a token for {self._account}, expires "
                   f"{expires:%Y-%m-%d %H:%M:%S} UTC ({origin})")

    def _oauth_login(self) -> None:
        """One AUTH XOAUTH2; after a 535 with a cached token, one refresh and one retry."""
        smtp = self._smtp
        offered = smtp.esmtp_features.get("auth", "").strip()
        if "XOAUTH2" not in offered.upper().split():
            raise self._failed(DeliveryError(
                "auth", "auth_unsupported",
                f"the server offers AUTH {offered}, but not XOAUTH2 (OAuth2)"))
        self.auth_mechanism = "XOAUTH2"
        if self._token is None:
            self._token_step()
        try:
            code, text = self._xoauth2()
        except smtplib.SMTPAuthenticationError as exc:
            if self._token.fresh or exc.smtp_code != 535 or not self.is_open:
                raise self._failed(from_reply("auth", exc.smtp_code, exc.smtp_error)) from exc
            self._emit("auth", False, exc.smtp_code, exc.smtp_error)
            self._token_step(force=True)
            try:
                code, text = self._xoauth2()
            except smtplib.SMTPAuthenticationError as again:
                raise self._failed(from_reply("auth", again.smtp_code, again.smtp_error)) \
                    from again
        self._emit("auth", True, code, text)

    def _xoauth2(self) -> tuple[int, bytes]:
        """The AUTH command itself; failures other than a refusal become DeliveryErrors."""
        try:
            return xoauth2(self._smtp, self.settings.username or "", self._token.value)
        except smtplib.SMTPAuthenticationError:
            raise
        except (OSError, UnicodeError) as exc:
            raise self._failed(classify("auth", exc)) from exc
