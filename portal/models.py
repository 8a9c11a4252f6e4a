"""Every model, imported in one place so migrations and create_all see all tables."""

from portal.auth.models import User
from portal.teams.models import Membership, Team

__all__ = ["Membership", "Team", "User"]
