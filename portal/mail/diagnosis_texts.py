"""The words of every diagnosis, as English msgids translated when shown.

``%(reply)s`` is the server's answer (or the OS error) as quoted in the cause. These
texts are also the templates the migration reads old English diagnoses back with
(``portal.mail.diagnosis_legacy``): change a wording and old rows written with it stay
legacy text, which still renders as it was.
"""

from portal.i18n.marks import N_


def ngettext(singular: str, plural: str) -> tuple[str, str]:
    """Mark a plural pair for the catalogs (extraction reads ``ngettext``) without
    translating it; the renderer passes the pair to the real ``ngettext``."""
    return singular, plural


# reason -> (cause, advice)
TEXTS: dict[str, tuple[str, str]] = {
    "cert_untrusted": (
        N_("The server's certificate is signed by an authority this system does not trust "
           "(%(reply)s)."),
        N_("Paste the company's CA certificate (PEM) into the sender's CA certificate field, "
           "or ask IT for it. Certificate checks are never switched off.")),
    "tls_mismatch": (
        N_("The port and the encryption do not match (%(reply)s)."),
        N_("465 usually means SSL; 587 and 25 usually mean STARTTLS. "
           "Change the encryption or the port.")),
    "starttls_unsupported": (
        N_("The server does not offer STARTTLS (%(reply)s)."),
        N_("Choose SSL (usually port 465) if the server offers it, or ask the mail server's "
           "admin to enable STARTTLS. Without encryption the password and the mail cross the "
           "network readable.")),
    "tls_required": (
        N_("The server accepts mail only over an encrypted connection (%(reply)s)."),
        N_("Choose STARTTLS (usually port 587 or 25) or SSL (usually port 465) as the "
           "sender's encryption.")),
    "unreachable": (
        N_("The portal cannot reach the mail server (%(reply)s)."),
        N_("Check the host name and the port, the firewall, and whether the portal has "
           "outside network access.")),
    "auth_required": (
        N_("The server accepts mail only after a login (%(reply)s)."),
        N_("This server needs a login: enter the username and password (or authorization "
           "code) in the sender.")),
    "auth_failed": (
        N_("The server refused the login (%(reply)s)."),
        N_("Check the username and password. QQ, 163, Tencent Exmail and Outlook need an "
           "authorization code or app password instead of the login password.")),
    "auth_unsupported": (
        N_("The server does not accept a login on this connection (%(reply)s)."),
        N_("Choose an encryption (STARTTLS or SSL) if the server only allows login over TLS, "
           "or leave the username empty if it accepts mail without login.")),
    "basic_auth_disabled": (
        N_("SMTP basic authentication (login with a password) is disabled for the Microsoft "
           "365 tenant or mailbox (%(reply)s)."),
        N_("Switch the sender to OAuth2 (Authentication: OAuth2), or ask the Microsoft 365 "
           "admin to enable authenticated SMTP for this mailbox.")),
    "send_as_denied": (
        N_("Microsoft 365 does not let this login send as the sender address (%(reply)s)."),
        N_("Use the login's own mailbox as the sender address, or ask the Microsoft 365 "
           "admin to grant the login Send As permission for this address.")),
    "from_must_match_login": (
        N_("The server sends mail only from the account that logged in (%(reply)s)."),
        N_("Make the sender address equal the login account (the username), e.g. both "
           "reports@qq.com.")),
    "sender_rejected": (
        N_("The server will not send as this address (%(reply)s)."),
        N_("For many providers the sender address must equal the login user; "
           "check the sender address and the username.")),
    "envelope_mismatch": (
        N_("The envelope sender is not the same as the From address in the message "
           "(%(reply)s)."),
        N_("Use one address for the sender address, the From header and the login account.")),
    "relay_denied": (
        N_("The server will not relay mail from this client or login to that address "
           "(%(reply)s)."),
        N_("Make sure the sender logs in (username and password): most servers relay only "
           "for logged-in users. Otherwise ask the mail server's admin to allow relaying for "
           "this login or for the portal's host.")),
    "client_rejected": (
        N_("The server refuses mail from this client, the portal's host or IP address "
           "(%(reply)s)."),
        N_("Ask the mail server's admin to accept the portal's host (its IP address and "
           "host name), or use a server that accepts it.")),
    "recipient_rejected": (
        N_("The server refused the recipient address (%(reply)s)."),
        N_("Check the recipient address for typos; the mailbox may not exist.")),
    "content_rejected": (
        N_("The server refused the content, often as spam (%(reply)s)."),
        N_("Change the subject or the body and try again; 163 rejects subjects that look "
           "like tests.")),
    "spam_suspected": (
        N_("The server judged the message to be spam (%(reply)s)."),
        N_("Change the subject and the body: avoid subjects that look like tests (163 rejects "
           "them), advertising wording, and mail that is only a link or an attachment.")),
    "message_too_large": (
        N_("The message is larger than the server accepts (%(reply)s)."),
        N_("Send smaller or fewer attachments, or a link to the file instead; set the "
           "sender's maximum message size to the provider's limit.")),
    "too_many_recipients": (
        N_("The server refused more recipients in one message (%(reply)s)."),
        N_("Lower the sender's recipients-per-message limit, or send to fewer recipients "
           "at once.")),
    "daily_quota": (
        N_("The sender's daily sending quota at the provider is used up (%(reply)s)."),
        N_("Send the rest after the quota resets (usually the next day) or through another "
           "sender; set the sender's daily recipient quota so the portal waits instead.")),
    "rate_quota": (
        N_("The provider's short-term sending quota is used up: too many messages in the "
           "last minutes (%(reply)s)."),
        N_("Lower the sender's messages-per-minute setting to stay under the provider's "
           "limit.")),
    "too_many_connections": (
        N_("The server has too many connections from this client (%(reply)s)."),
        N_("Lower the sender's parallel connections (1 is safest for public providers).")),
    "quota_too_small": (
        N_("The message has more recipients than its sender may reach in 24 hours "
           "(%(reply)s)."),
        N_("Send it again to fewer recipients, or through a sender with a larger quota.")),
    "temporary": (
        N_("The server refused the mail temporarily (%(reply)s)."),
        N_("If it keeps happening, ask the mail server's admin why it refuses the mail.")),
    "not_smtp": (
        N_("The service on this host and port is not a mail server (%(reply)s)."),
        N_("Check the host and the port: SMTP is usually on port 25, 465 or 587.")),
    "plain_auth_refused": (
        N_("The portal does not send a password over an unencrypted connection "
           "(%(reply)s)."),
        N_("Choose SSL or STARTTLS if the server offers it. Only for a server on a trusted "
           "network that offers neither, tick “Allow login without encryption”.")),
    # OAuth2 senders: the token endpoint refused or could not be reached (step "token").
    "token_tenant_unknown": (
        N_("Microsoft does not know the tenant (directory) in the sender's settings "
           "(%(reply)s)."),
        N_("Enter the tenant id (Directory (tenant) ID in the app registration's Overview) "
           "or the tenant's domain, like contoso.onmicrosoft.com.")),
    "token_client_unknown": (
        N_("The provider does not know the client id (application) in the sender's "
           "settings (%(reply)s)."),
        N_("Copy the Application (client) ID from the app registration again, and check "
           "that the app is registered in this tenant.")),
    "token_secret_invalid": (
        N_("The provider refused the client secret (%(reply)s)."),
        N_("Enter the secret's value (not its id) again; create a new client secret if "
           "it was deleted or revoked.")),
    "token_secret_expired": (
        N_("The client secret has expired (%(reply)s)."),
        N_("Create a new client secret in the app registration (Certificates & secrets) "
           "and enter it in the sender.")),
    "token_consent_missing": (
        N_("The app may not send mail for this organisation yet: the permission is "
           "missing or not consented (%(reply)s)."),
        N_("Add the permission (Microsoft 365: SMTP.SendAsApp for applications, SMTP.Send "
           "for delegated sign-in; Google: https://mail.google.com/) and have an admin "
           "grant consent.")),
    "token_scope_invalid": (
        N_("The provider refused the requested scope (%(reply)s)."),
        N_("Leave the scope empty to use the provider's default, or correct it under "
           "Advanced.")),
    "token_reconnect": (
        N_("The connected account's sign-in is no longer valid: it expired or was revoked "
           "(%(reply)s)."),
        N_("Reconnect the account: open the sender and sign in again.")),
    "token_not_connected": (
        N_("No account is connected to this sender yet (%(reply)s)."),
        N_("Save the sender, then sign in with the mailbox's account on the sender form.")),
    "token_unreachable": (
        N_("The portal cannot reach the token endpoint (%(reply)s)."),
        N_("Check the token URL, the firewall and whether the portal has outside network "
           "access.")),
    "token_bad_reply": (
        N_("The token endpoint did not answer like an OAuth2 server (%(reply)s)."),
        N_("Check the token URL under Advanced: it must be the provider's OAuth2 token "
           "endpoint.")),
    "token_refused": (
        N_("The provider refused to issue a token (%(reply)s)."),
        N_("Check the tenant, client id, client secret and scope of the sender.")),
    "unsafe_header": (
        N_("The message could not be built: %(reply)s."),
        N_("Correct the value it names (the sender's displayed name, the subject or an "
           "address) and send the mail again; it was not sent.")),
    "protocol": (
        N_("The conversation with the mail server failed (%(reply)s)."),
        N_("If it keeps failing, check the server settings with IT.")),
}
FALLBACK = "protocol"
# A temporary refusal before any mail was offered is not a refusal of the mail.
TEMPORARY_AT = {
    "connect": N_("The server is not taking connections just now (%(reply)s)."),
    "ehlo": N_("The server is not taking connections just now (%(reply)s)."),
    "auth": N_("The server could not check the login just now (%(reply)s)."),
}
# Replies that arrive at RCPT TO without being about the recipient (Postfix delays the
# refusal of a sender, relay or client until then) get a note; these are about it.
ABOUT_RECIPIENTS = frozenset({"recipient_rejected", "temporary", "protocol"})
NOT_ABOUT_RECIPIENT = N_("The server said so at RCPT TO, but it is not about the recipient "
                         "address.")
REFUSALS = N_("Recipients not accepted: %(recipients)s.")
REFUSALS_MORE = ngettext("%(recipients)s and %(num)d more", "%(recipients)s and %(num)d more")
NO_DETAILS = N_("no details")
# What the portal itself says in place of a server reply (no reply code): translated
# when quoted. A server's own reply is never translated.
NOT_ENCRYPTED = N_("the connection is not encrypted, so the password was not sent")
NO_AUTH = N_("the server offers no AUTH on this connection")
SESSION_CLOSED = N_("the session is closed")
PORTAL_REPLIES = frozenset({NOT_ENCRYPTED, NO_AUTH, SESSION_CLOSED})

GAVE_UP = N_("Gave up: it is not sent again unless retried by hand.")
GAVE_UP_AFTER = ngettext("Gave up after %(num)d attempt: it is not sent again unless retried "
                         "by hand.",
                         "Gave up after %(num)d attempts: it is not sent again unless retried "
                         "by hand.")
RETRIED = N_("It will be retried automatically.")
TRY_AGAIN = N_("This is usually temporary: try again in a few minutes.")

# The message may or may not have arrived; by what stopped ("data", "handover", else).
IN_DOUBT = {
    "data": N_("The connection broke after the message was handed over, before the server "
               "confirmed it, so it may or may not have arrived."),
    "handover": N_("The worker (or the request) sending it stopped after the message was "
                   "handed over, before the server confirmed it, so it may or may not have "
                   "arrived."),
    "": N_("The connection or the worker stopped after the message was handed over, before "
           "the server confirmed it, so it may or may not have arrived."),
}
IN_DOUBT_ADVICE = N_("It is not resent automatically. Check with the recipients whether it "
                     "arrived; a manual retry may deliver a second copy.")

ACCEPTED = N_("%(accepted)d of %(total)d recipients accepted.")

# The worker pauses a sender that cannot connect, set up TLS or log in.
PAUSED = {
    "tls": N_("Waiting: the sender could not set up a secure connection (%(reply)s)."),
    "auth": N_("Waiting: the sender could not log in (%(reply)s)."),
    "token": N_("Waiting: the sender could not get an OAuth2 token (%(reply)s)."),
    "": N_("Waiting: the sender could not connect (%(reply)s)."),
}

# Quotas: the portal's own (recipients in 24 hours) and the provider's reply.
QUOTA_WAIT = N_("Waiting: the sender's quota of %(quota)s recipients in 24 hours is used up "
                "(%(used)s used); sending resumes at %(until)s.")
QUOTA_WAIT_ADVICE = N_("Nothing is lost and no attempt is used up. To send sooner, raise the "
                       "sender's recipients per 24 hours if the provider allows it.")
PROVIDER_PAUSE = {
    "daily_quota": N_("Waiting: the provider's daily sending quota is used up (%(reply)s); "
                      "the sender resumes at %(until)s."),
    "rate_quota": N_("Waiting: the provider's short-term sending quota is used up "
                     "(%(reply)s); the sender resumes at %(until)s."),
}
PROVIDER_PAUSE_ADVICE = N_("No attempt is used up. Set the sender's quotas to the provider's "
                           "limits so the portal waits before the provider refuses.")
# A fallback sender carried the mail because the chosen one failed.
FALLBACK_USED = N_("Sent through “%(fallback)s” because “%(primary)s” failed: %(cause)s")
