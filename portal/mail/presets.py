"""Provider presets: host, port and encryption to pre-fill, plus the provider's advice."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Preset:
    """One entry of the sender form's preset list."""

    key: str
    label: str
    host: str
    port: int
    encryption: str
    advice: str


_AUTH_CODE = (
    "Use an authorization code generated in the mailbox settings, not the login password. "
)
_FROM_IS_LOGIN = "The sender address must equal the login user."

PRESETS: tuple[Preset, ...] = (
    Preset("qq", "QQ Mail", "smtp.qq.com", 465, "ssl",
           "Enable SMTP in QQ Mail settings. " + _AUTH_CODE + _FROM_IS_LOGIN),
    Preset("163", "163 Mail", "smtp.163.com", 465, "ssl",
           "Enable SMTP in 163 Mail settings. " + _AUTH_CODE + _FROM_IS_LOGIN
           + " Avoid subjects that look like tests: 163 rejects them as spam."),
    Preset("exmail", "Tencent Exmail", "smtp.exmail.qq.com", 465, "ssl",
           "Use the full address as username. If secure login is on, use an "
           "authorization code instead of the password. " + _FROM_IS_LOGIN),
    Preset("outlook", "Outlook / Microsoft 365", "smtp.office365.com", 587, "starttls",
           "SMTP AUTH must be enabled for the mailbox by the Microsoft 365 admin. With "
           "multi-factor sign-in, use an app password. " + _FROM_IS_LOGIN),
    Preset("gmail", "Gmail", "smtp.gmail.com", 587, "starttls",
           "Needs 2-step verification and an app password; the normal password is "
           "refused."),
    Preset("sina", "Sina Mail", "smtp.sina.com", 465, "ssl",
           "Enable SMTP in Sina Mail settings. " + _AUTH_CODE + _FROM_IS_LOGIN),
    Preset("exchange", "Exchange on the intranet", "", 25, "none",
           "Enter your Exchange server's host name. Inside the intranet it usually runs "
           "without encryption on port 25; if it uses STARTTLS with a certificate from a "
           "private CA, choose STARTTLS and paste that CA certificate."),
    Preset("custom", "Custom", "", 25, "starttls",
           "Enter the host, port and encryption your mail administrator gave you."),
)

PRESETS_BY_KEY: dict[str, Preset] = {preset.key: preset for preset in PRESETS}


def get_preset(key: str | None) -> Preset | None:
    """The preset with this key, or None for an unknown or empty key."""
    return PRESETS_BY_KEY.get(key or "")
