"""OAuth2 for SMTP (XOAUTH2): provider defaults, access tokens and their failures.

Plain code like the rest of ``portal.mail``: no Flask, no database. The senders
package turns a stored sender into a ``TokenSource``; the SMTP session asks
``get_token`` for a bearer token before it logs in.
"""

from portal.mail.oauth.failures import TRANSIENT_TOKEN_REASONS, token_error
from portal.mail.oauth.providers import FLOWS, PROVIDERS, url_problem
from portal.mail.oauth.tokens import AccessToken, TokenSource, forget, get_token

__all__ = ["FLOWS", "PROVIDERS", "TRANSIENT_TOKEN_REASONS", "AccessToken", "TokenSource",
           "forget", "get_token", "token_error", "url_problem"]
