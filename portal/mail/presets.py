"""Provider presets: host, port and encryption to pre-fill, plus the provider's advice."""

from __future__ import annotations

from dataclasses import dataclass

from portal.i18n.marks import N_


@dataclass(frozen=True)
class Preset:
    """One entry of the sender form's preset list. ``label`` and ``advice`` are English
    msgids: translate them where they are shown. OAuth2 presets also choose the
    authentication method and the provider whose endpoints and scope fill in."""

    key: str
    label: str
    host: str
    port: int
    encryption: str
    advice: str
    # The provider's documented sending limits (None: not documented per account, so
    # the portal leaves it open and relies on the provider's own quota reply).
    rate_per_minute: int | None = None
    daily_recipient_quota: int | None = None
    max_recipients_per_message: int | None = None
    # The provider's documented limit for a whole message, in MB; None: the portal's
    # default (25 MB). Only documented values: Gmail "up to 25 MB" of attachments
    # (support.google.com/mail/answer/6584); Microsoft 365 mailboxes send 35 MB by
    # default, base64 included (Exchange Online limits, learn.microsoft.com). QQ, 163,
    # Sina and Tencent Exmail state 50 MB for attachments added on their web pages, not
    # for SMTP submission, so they keep the default.
    max_message_mb: int | None = None
    auth_method: str = "password"
    oauth_provider: str | None = None
    oauth_flow: str | None = None


# Microsoft, "Exchange Online limits", sending limits: 30 messages a minute, 10,000
# recipients a day, 500 recipients per message; a mailbox sends 35 MB by default.
EXCHANGE_ONLINE_LIMITS = {"rate_per_minute": 30, "daily_recipient_quota": 10000,
                          "max_recipients_per_message": 500, "max_message_mb": 35}
# Google, "Gmail sending limits in Google Workspace": 2,000 messages a day (the closest a
# recipient quota comes), 100 recipients per message sent over SMTP; no per-minute figure
# is published. Attachments "up to 25 MB".
GOOGLE_LIMITS = {"daily_recipient_quota": 2000, "max_recipients_per_message": 100,
                 "max_message_mb": 25}

# QQ Mail, 163 Mail and Sina publish no per-account SMTP figures, and Tencent Exmail's
# daily quota for mail to strangers is shared by the whole domain (500 a day to start on
# the free edition, at least 1,500 on paid ones) and adjusted by the provider: their
# quotas stay empty and the portal pauses on the provider's own reply (163 MI:STC, MI:SFQ).
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
              "login user. Microsoft switches password login (basic authentication) off at "
              "the end of December 2026: use Microsoft 365 (OAuth2) instead. Exchange "
              "Online's sending limits are filled in below."),
           **EXCHANGE_ONLINE_LIMITS),
    Preset("outlook_oauth", N_("Microsoft 365 (OAuth2)"), "smtp.office365.com", 587,
           "starttls",
           N_("Application sign-in: register an app in Microsoft Entra ID, add the API "
              "permission Office 365 Exchange Online › SMTP.SendAsApp (application) and "
              "grant admin consent, create a client secret, then in Exchange Online "
              "PowerShell register the app's service principal (New-ServicePrincipal) and "
              "give it the mailbox (Add-MailboxPermission -AccessRights FullAccess). Enter "
              "the tenant ID, client ID and secret; the username is the mailbox. Delegated "
              "sign-in instead: add the delegated permission SMTP.Send and register the "
              "redirect URI shown below."),
           auth_method="oauth2", oauth_provider="microsoft", oauth_flow="application",
           **EXCHANGE_ONLINE_LIMITS),
    Preset("gmail", N_("Gmail"), "smtp.gmail.com", 587, "starttls",
           N_("Needs 2-step verification and an app password; the normal password is "
              "refused. Google Workspace allows 2,000 messages a day and 100 recipients per "
              "message over SMTP; a free gmail.com account sends only 500 a day, so lower the "
              "quota for such an account."),
           **GOOGLE_LIMITS),
    Preset("gmail_oauth", N_("Google Workspace / Gmail (OAuth2)"), "smtp.gmail.com", 587,
           "starttls",
           N_("In the Google Cloud console, add the scope https://mail.google.com/ to the "
              "OAuth consent screen, then create an OAuth client (type Web application) "
              "with the redirect URI shown below. Enter its client ID and secret, save, "
              "then sign in with the mailbox's Google account. The username is that "
              "mailbox."),
           auth_method="oauth2", oauth_provider="google", oauth_flow="delegated",
           **GOOGLE_LIMITS),
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
