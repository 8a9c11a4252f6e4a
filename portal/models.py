"""Every model, imported in one place so migrations and create_all see all tables."""

from portal.audit.models import AuditEntry
from portal.auth.models import User
from portal.auth.sessions import UserSession
from portal.auth.throttle import LoginFailure
from portal.callbacks.models import Callback
from portal.directory.models import TeamGroupLink
from portal.health.models import WorkerHeartbeat
from portal.outbox.models import Attempt, Message
from portal.senders.models import Sender, SenderUsage
from portal.teams.models import Membership, Team
from portal.templates_.models import MailTemplate
from portal.tokens.models import ApiToken

__all__ = ["ApiToken", "Attempt", "AuditEntry", "Callback", "LoginFailure", "MailTemplate",
           "Membership", "Message", "Sender", "SenderUsage", "Team", "TeamGroupLink", "User",
           "UserSession",
           "WorkerHeartbeat"]
