"""Which sending records a user may see: all (system admin), their teams' (team admin),
or the ones they sent themselves (agent)."""

from sqlalchemy import or_

from portal.extensions import db
from portal.outbox.models import Message


def visibility_clause(user):
    """A WHERE clause limiting messages to the user's view, or None for everything."""
    if user.is_system_admin:
        return None
    admin_teams = user.admin_team_ids()
    mine = Message.user_id == user.id
    return or_(mine, Message.team_id.in_(admin_teams)) if admin_teams else mine


def visible_messages_query(user, query):
    clause = visibility_clause(user)
    return query if clause is None else query.where(clause)


def get_visible_message(user, message_pk: int) -> Message | None:
    """The message when the user may see it; None hides both missing and forbidden."""
    message = db.session.get(Message, message_pk)
    if message is None:
        return None
    clause = visibility_clause(user)
    if clause is None:
        return message
    if message.user_id == user.id or message.team_id in user.admin_team_ids():
        return message
    return None
