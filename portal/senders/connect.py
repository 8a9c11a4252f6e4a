"""Connecting a delegated OAuth2 sender: "Sign in with Microsoft / Google" and back.

The sign-in is the authorization-code flow with PKCE (S256). ``state`` is signed with
the app's secret and names the sender and the admin who started it, and expires after
``STATE_MAX_AGE``; the code verifier stays in that admin's session. The state also
carries a digest of where the sender's secrets go: a sender changed in the meantime
is not connected with the code (start again), and the token and authorization URLs
must be on the allow-list of a team admin, as on the form. The callback URL
is built with ``url_for(_external=True)``, so behind the proxy (ProxyFix) and under a
URL prefix it is the address the provider must know; the sender form shows it.
"""

from __future__ import annotations

import secrets

from flask import Blueprint, abort, current_app, flash, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user
from itsdangerous import BadData, URLSafeTimedSerializer

from portal.access import admin_required, get_or_404
from portal.crypto import SecretUnreadable, decrypt
from portal.extensions import db
from portal.htmx import render
from portal.mail import DeliveryError, diagnose
from portal.mail.oauth import authcode
from portal.senders import allowlist, checks, oauth
from portal.senders.models import Sender

bp = Blueprint("sender_oauth", __name__, url_prefix="/senders")
STATE_MAX_AGE = 600  # seconds between "Sign in" and the provider sending the admin back
_SALT = "sender-oauth-state"
_VERIFIERS = "oauth_verifiers"  # session key: state nonce -> PKCE code verifier


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt=_SALT)


def _sender(sender_id: int) -> Sender:
    return get_or_404(Sender, sender_id, Sender.managed_by(current_user))


def callback_url() -> str:
    """The redirect URI to register with the provider (as this request reaches the portal)."""
    return url_for("sender_oauth.callback", _external=True)


@bp.get("/<int:sender_id>/oauth/connect")
@admin_required
def start(sender_id: int):
    """Send the admin to the provider's sign-in page for this (saved) delegated sender."""
    sender = _sender(sender_id)
    if not sender.is_oauth or sender.oauth_flow != "delegated" or not sender.oauth_authorize_url:
        flash(_("Save the sender with Authentication “OAuth2” and Sign-in “Delegated” first."),
              "error")
        return redirect(url_for("senders.edit", sender_id=sender.id), 303)
    refused = allowlist.first_problem(current_user, checks.stored_values(sender))
    if refused:
        flash(refused, "error")
        return redirect(url_for("senders.edit", sender_id=sender.id), 303)
    nonce, verifier = secrets.token_urlsafe(16), authcode.new_verifier()
    state = _serializer().dumps({"s": sender.id, "u": current_user.id, "n": nonce,
                                 "d": oauth.destination_key(sender)})
    pending = dict(session.get(_VERIFIERS) or {})
    pending = dict(list(pending.items())[-4:])  # a few sign-ins in other tabs at most
    pending[nonce] = verifier
    session[_VERIFIERS] = pending
    url = authcode.sign_in_url(
        provider=sender.oauth_provider, authorize_url=sender.oauth_authorize_url,
        client_id=sender.oauth_client_id or "", scope=sender.oauth_scope or "",
        redirect_uri=callback_url(), state=state, verifier=verifier,
        login_hint=sender.username or sender.address)
    return redirect(url, 303)


@bp.get("/oauth/callback")
@admin_required
def callback():
    """Where the provider sends the admin back: redeem the code, keep the refresh token."""
    try:
        data = _serializer().loads(request.args.get("state", ""), max_age=STATE_MAX_AGE)
        sender_id, user_id, nonce = int(data["s"]), int(data["u"]), str(data["n"])
        destination = str(data["d"])
    except (BadData, KeyError, TypeError, ValueError):
        flash(_("The sign-in could not be completed: it expired or did not start here. "
                "Start it again from the sender."), "error")
        return redirect(url_for("senders.index"), 303)
    if user_id != current_user.id:
        abort(403)
    sender = _sender(sender_id)
    back = url_for("senders.edit", sender_id=sender.id)
    verifier = (session.get(_VERIFIERS) or {}).get(nonce)
    session[_VERIFIERS] = {k: v for k, v in (session.get(_VERIFIERS) or {}).items()
                           if k != nonce}
    if request.args.get("error") or not request.args.get("code") or not verifier:
        reason = request.args.get("error_description") or request.args.get("error") or ""
        flash(_("The sign-in was not completed: %(reason)s", reason=reason[:300]
                or _("no authorization code came back")), "error")
        return redirect(back, 303)
    refused = _refusal(sender, destination)
    if refused:
        flash(refused, "error")
        return redirect(back, 303)
    return _redeem(sender, request.args["code"], verifier, back)


def _refusal(sender: Sender, destination: str) -> str | None:
    """Why the code must not be redeemed for ``sender`` now: it is no longer a delegated
    OAuth2 sender, its secrets' destination changed since the sign-in started (the
    stored client secret only goes where it was saved for), or its token URL is not
    on the admin's allow-list."""
    if (not sender.is_oauth or sender.oauth_flow != "delegated"
            or destination != oauth.destination_key(sender)):
        return _("The sender's settings changed after the sign-in started. Start the "
                 "sign-in again from the sender.")
    return allowlist.first_problem(current_user, checks.stored_values(sender))


def _redeem(sender: Sender, code: str, verifier: str, back: str):
    try:
        secret = (decrypt(sender.oauth_client_secret_encrypted)
                  if sender.has_client_secret else None)
        answer = authcode.redeem(
            token_url=sender.oauth_token_url or "", client_id=sender.oauth_client_id or "",
            client_secret=secret, code=code, redirect_uri=callback_url(), verifier=verifier,
            timeout=current_app.config["SMTP_TIMEOUT"])
    except SecretUnreadable as error:
        flash(str(error), "error")
        return redirect(back, 303)
    except DeliveryError as error:
        found = diagnose(error, retrying=False)
        flash(f"{found.cause} {found.advice}", "error")
        return redirect(back, 303)
    refresh = answer.get("refresh_token")
    if not refresh:
        flash(_("The provider did not hand out a refresh token, so the portal could not "
                "send later. Check that offline access is allowed for the app, then sign "
                "in again."), "error")
        return redirect(back, 303)
    account = authcode.account_of(answer) or sender.username or sender.address
    oauth.connect(sender, refresh, account)
    db.session.commit()  # a new sign-in is a new cache key: no earlier token is used
    flash(_("Connected as %(account)s.", account=account), "success")
    return redirect(back, 303)


@bp.route("/<int:sender_id>/oauth/disconnect", methods=["GET", "POST"])
@admin_required
def disconnect(sender_id: int):
    """GET asks for confirmation; POST forgets the connected account."""
    sender = _sender(sender_id)
    if request.method == "GET":
        return render("senders/disconnect.html", sender=sender)
    account = sender.oauth_account or ""
    oauth.disconnect(sender)
    db.session.commit()
    flash(_("Account %(account)s disconnected. The sender cannot send until an account is "
            "connected again.", account=account), "success")
    return redirect(url_for("senders.edit", sender_id=sender.id), 303)
