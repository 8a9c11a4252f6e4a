"""Provider presets: host, port and encryption to pre-fill, plus the provider's advice."""

from __future__ import annotations

from dataclasses import dataclass

from portal.i18n.marks import N_


@dataclass(frozen=True)
class Preset:
    """One entry of the sender form's preset list. ``label`` and ``advice`` are English
    msgids: translate them where they are shown."""

    key: str
    label: str
    host: str
    port: int
    encryption: str
    advice: str
    # The provider's documented limit for a whole message, in MB; None: the portal's
    # default (25 MB). Only documented values: Gmail "up to 25 MB" of attachments
    # (support.google.com/mail/answer/6584); Microsoft 365 mailboxes send 35 MB by
    # default, base64 included (Exchange Online limits, learn.microsoft.com). QQ, 163,
    # Sina and Tencent Exmail state 50 MB for attachments added on their web pages, not
    # for SMTP submission, so they keep the default.
    max_message_mb: int | None = None


PRESETS: tuple[Preset, ...] = (
    Preset("qq", N_("QQ Mail"), "smtp.qq.com", 465, "ssl",
           N_("Enable SMTP in QQ Mail settings. Use an authorization code generated in the "
              "mailbox settings, not the login password. The sender address must equal the "
              "login user.")),
    Preset("163", N_("163 Mail"), "smtp.163.com", 465, "ssl",
           N_("Enable SMTP in 163 Mail settings. Use an authorization code generated in the "
              "mailbox settings, not the login password. The sender address must equal the "
              "login user. Avoid subjects that look like tests: 163 rejects them as spam.")),
    Preset("exmail", N_("Tencent Exmail"), "smtp.exmail.qq.com", 465, "ssl",
           N_("Use the full address as username. If secure login is on, use an "
              "authorization code instead of the password. The sender address must equal "
              "the login user.")),
    Preset("outlook", N_("Outlook / Microsoft 365"), "smtp.office365.com", 587, "starttls",
           N_("SMTP AUTH must be enabled for the mailbox by the Microsoft 365 admin. With "
              "multi-factor sign-in, use an app password. The sender address must equal the "
              "login user."), 35),
    Preset("gmail", N_("Gmail"), "smtp.gmail.com", 587, "starttls",
           N_("Needs 2-step verification and an app password; the normal password is "
              "refused."), 25),
    Preset("sina", N_("Sina Mail"), "smtp.sina.com", 465, "ssl",
           N_("Enable SMTP in Sina Mail settings. Use an authorization code generated in the "
              "mailbox settings, not the login password. The sender address must equal the "
              "login user.")),
    Preset("exchange", N_("Exchange on the intranet"), "", 25, "none",
           N_("Enter your Exchange server's host name. Inside the intranet it usually runs "
              "without encryption on port 25; if it uses STARTTLS with a certificate from a "
              "private CA, choose STARTTLS and paste that CA certificate.")),
    Preset("custom", N_("Custom"), "", 25, "starttls",
           N_("Enter the host, port and encryption your mail administrator gave you.")),
)

PRESETS_BY_KEY: dict[str, Preset] = {preset.key: preset for preset in PRESETS}


def get_preset(key: str | None) -> Preset | None:
    """The preset with this key, or None for an unknown or empty key."""
    return PRESETS_BY_KEY.get(key or "")
