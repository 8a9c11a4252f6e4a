"""Security headers on every answer, and Secure cookies whenever the request was HTTPS.

The Content-Security-Policy allows only the portal's own files: htmx and
``portal.js`` are served from ``static/``, htmx runs with ``allowEval: false``
and without injected indicator styles (see ``base.html``), and no template
carries inline scripts, event handlers or ``style`` attributes. ``frame-src
'self'`` lets the sandboxed mail frames load; ``frame-ancestors 'none'`` and
``X-Frame-Options`` stop other sites from framing the portal's own pages.

A stored message's body is framed from its own URL, which sets a policy of its
own (see ``portal.records.views.body``) so the mail's styles render. Template
previews use ``srcdoc``, which inherits this policy: they show the mail's text
and structure without its styles, the safe choice for HTML being edited.
"""

from flask import Flask, g, has_request_context, request
from flask.sessions import SecureCookieSessionInterface
from flask_babel import gettext as _

from portal import jsonsafe
from portal.i18n.marks import N_

CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "frame-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])

HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


def _add_headers(response):
    """Set each header unless the view chose its own value. Nothing but the vendored
    static files may be kept by a browser or proxy cache: every page and API answer
    may show mail, addresses or settings of the signed-in user or token."""
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    if request.endpoint != "static":
        response.headers.setdefault("Cache-Control", "no-store")
    return response


def _is_https() -> bool:
    """True when the user's request was HTTPS (as seen through a trusted proxy)."""
    return has_request_context() and request.is_secure


def mark_cookies_secure(response) -> None:
    """Add the ``Secure`` attribute to every cookie the response sets without it."""
    cookies = response.headers.getlist("Set-Cookie")
    if not cookies:
        return
    marked = []
    for cookie in cookies:
        attributes = {part.strip().lower() for part in cookie.split(";")[1:]}
        marked.append(cookie if "secure" in attributes else cookie + "; Secure")
    response.headers.setlist("Set-Cookie", marked)


class HttpsAwareSessionInterface(SecureCookieSessionInterface):
    """Signed-cookie sessions whose cookies are ``Secure`` on HTTPS requests.

    ``SESSION_COOKIE_SECURE`` still forces the flag for every request; on top
    of that a request that reached the portal over HTTPS (directly, or via a
    proxy trusted through ``PROXY_COUNT``) never gets a cookie it could leak
    over plain HTTP. Saving the session is the last step before the answer
    leaves, so cookies set earlier (Flask-Login's remember cookie) are marked
    here too.
    """

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(super().get_cookie_secure(app)) or _is_https()

    def save_session(self, app: Flask, session, response) -> None:
        super().save_session(app, session, response)
        if _is_https():
            mark_cookies_secure(response)


# Endpoints that take larger bodies than MAX_CONTENT_LENGTH: endpoint -> config key of
# their limit (the batch API). Applied, for a known caller only, before any body is read
# (``portal.outbox.attachments.allow_uploads``).
BODY_LIMITS: dict[str, str] = {}

NUL_REFUSED = N_("Text may not contain NUL characters (\\0). Remove them and send again.")


def has_nul(value) -> bool:
    """True when ``value`` (text, or lists and dicts of it, keys too) holds a NUL."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(has_nul(k) or has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(has_nul(item) for item in value)
    return False


def nul_refusal(*values):
    """The 400 answer when any of ``values`` holds a NUL, else None."""
    from portal.errors import error_response

    if any(has_nul(value) for value in values):
        return error_response(400, _(NUL_REFUSED))
    return None


def form_values() -> list:
    """Every value of the query string and the form, repeated fields included."""
    return [*request.args.listvalues(), *request.form.listvalues()]


def _refuse_nul():
    """No text field anywhere may carry a NUL character: PostgreSQL cannot store one and
    no mail header or body needs one. Checked once here for every form, query and JSON body.

    A body larger than the usual limit is not read here: only an authenticated upload may
    be that large (``portal.outbox.attachments.allow_uploads``), and its endpoint checks
    its own fields once it has parsed them (``portal.api.bodies``, the compose view);
    any other large body is refused unread (413) when something tries to read it.
    """
    from portal.errors import error_response

    values = [*request.args.listvalues(), *request.headers.values()]
    if g.get("upload_limit") is not None:
        return nul_refusal(*values)
    if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        values += request.form.listvalues()
    if request.is_json:
        try:
            values.append(jsonsafe.loads(request.get_data(cache=True)))
        except jsonsafe.TooDeep as error:
            return error_response(400, _("The JSON body is not accepted: %(reason)s.",
                                         reason=str(error)))
        except ValueError:
            pass  # other malformed JSON: the endpoint reports it in its own terms
    return nul_refusal(*values)


def register(app: Flask) -> None:
    """Install the headers, the HTTPS-aware session cookies and the NUL check on ``app``."""
    app.session_interface = HttpsAwareSessionInterface()
    app.after_request(_add_headers)
    app.before_request(_refuse_nul)
