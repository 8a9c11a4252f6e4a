"""Token rules: who manages which token, creating (secret shown once), revoking, and
authenticating API calls by the secret's hash."""

import hashlib
import hmac
import secrets
from datetime import timedelta

from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import func, select
from sqlalchemy.orm import lazyload

from portal.dbtypes import utcnow
from portal.errors import ServiceError
from portal.extensions import db
from portal.teams import service as teams_service
from portal.teams.models import Team
from portal.tokens.models import ApiToken

PREFIX = "mbp_"
DISPLAY_CHARS = 8
MAX_SECRET_CHARS = 200
TOUCH_EVERY = timedelta(minutes=1)


def hash_secret(secret: str) -> str:
    """SHA-256 hex: the secret is random and long, so a fast unsalted hash is enough."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _ordered(query):
    """Active tokens first, then system scope, then by name."""
    return query.order_by(ApiToken.revoked_at.is_not(None), ApiToken.team_id.is_not(None),
                          func.lower(ApiToken.name), ApiToken.id)


def managed_tokens(user) -> list[ApiToken]:
    """Tokens the user may see and revoke: all for system admins, their admin teams' else."""
    return list(db.session.scalars(_ordered(select(ApiToken).where(
        ApiToken.managed_by(user)))))




def _check_name(name: str) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise ServiceError(_("Enter a name that says which system uses the token."), "name")
    if len(name) > 120:
        raise ServiceError(_("Name must be at most 120 characters."), "name")
    return name


def create_token(actor, name: str, team_id: int | None) -> tuple[ApiToken, str]:
    """A new token and its secret. The secret is not stored: show it once, then drop it."""
    if not actor.can_admin_team(team_id):
        raise ServiceError(_("Only system administrators can create system tokens.")
                           if team_id is None else _("You cannot manage tokens of that team."),
                           "team_id")
    if team_id is not None and db.session.get(Team, team_id) is None:
        raise ServiceError(_("That team does not exist. Choose another."), "team_id")
    secret = PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(name=_check_name(name), team_id=team_id, token_hash=hash_secret(secret),
                     prefix=secret[:DISPLAY_CHARS], created_by_user_id=actor.id)
    db.session.add(token)
    db.session.flush()
    return token, secret


def revoke_token(actor, token: ApiToken) -> ApiToken:
    """Revoking is final and takes effect on the next API call; revoking twice is harmless."""
    if not actor.can_admin_team(token.team_id):
        raise ServiceError(_("You cannot manage this token."))
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        db.session.flush()
    return token


def active_team_tokens(team_id: int) -> list[ApiToken]:
    return list(db.session.scalars(_ordered(select(ApiToken).where(
        ApiToken.team_id == team_id, ApiToken.revoked_at.is_(None)))))


def revoke_team_tokens(actor, team_id: int) -> int:
    """Revoke every active token of a team at once (system admins only), e.g. when a
    system that held them is retired or a secret may have leaked; returns how many."""
    if not actor.is_system_admin:
        raise ServiceError(_("Only system administrators can revoke all of a team's tokens."))
    tokens = active_team_tokens(team_id)
    for token in tokens:
        revoke_token(actor, token)
    return len(tokens)


def authenticate(secret: str | None) -> ApiToken | None:
    """The active token for ``secret``, or None (unknown, malformed or revoked).

    The lookup is by hash, so response time does not depend on how much of a
    guessed secret is right; ``last_used_at`` is refreshed at most once a minute (the
    caller commits; an API call commits only then, so most calls write nothing here).
    """
    if not secret or len(secret) > MAX_SECRET_CHARS or not secret.startswith(PREFIX):
        return None
    digest = hash_secret(secret)
    # Only the token's own row: its team and creator are not needed to authenticate.
    token = db.session.scalar(select(ApiToken).options(lazyload("*"))
                              .where(ApiToken.token_hash == digest))
    if token is None or not hmac.compare_digest(token.token_hash, digest):
        return None
    if token.revoked_at is not None:
        return None
    now = utcnow()
    if token.last_used_at is None or now - token.last_used_at >= TOUCH_EVERY:
        token.last_used_at = now
    return token


def _tokens_left(team) -> str | None:
    count = db.session.scalar(select(func.count()).select_from(ApiToken).where(
        ApiToken.team_id == team.id, ApiToken.revoked_at.is_(None)))
    return ngettext("it still has %(num)d API token", "it still has %(num)d API tokens",
                    count) if count else None


teams_service.EMPTY_CHECKS.append(_tokens_left)
