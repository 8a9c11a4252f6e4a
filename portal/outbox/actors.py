"""Who triggers mail: a signed-in user or an API token, reduced to what sending needs."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Actor:
    """``team_ids`` None means every team (system admin or system token).

    ``team_id`` is the scope whose default sender is used when mail names none.
    """

    label: str
    team_ids: frozenset[int] | None
    team_id: int | None = None
    user_id: int | None = None
    token_id: int | None = None

    @classmethod
    def for_user(cls, user, team_id: int | None = None) -> "Actor":
        teams = None if user.is_system_admin else frozenset(user.team_ids())
        return cls(label=user.username, team_ids=teams, team_id=team_id, user_id=user.id)

    @classmethod
    def for_token(cls, token) -> "Actor":
        teams = None if token.team_id is None else frozenset({token.team_id})
        return cls(label=f"API token “{token.name}”", team_ids=teams, team_id=token.team_id,
                   token_id=token.id)

