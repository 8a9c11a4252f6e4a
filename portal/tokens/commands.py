"""``flask --app portal create-token``: a token for a system, printed once."""

import click
from flask.cli import with_appcontext

from portal.errors import ServiceError
from portal.extensions import db
from portal.tokens import service


@click.command("create-token")
@click.option("--name", required=True, help="Which system uses the token.")
@click.option("--team", "team_name", default=None, help="Team; omit for a system token.")
@with_appcontext
def create_token_command(name: str, team_name: str | None):
    """Create an API token and print it (only its hash is stored).

    Standard output carries nothing but the token, so scripts can capture it;
    the reminder that it is shown once goes to standard error.
    """
    # Imported here: portal.cli imports this module to list the command.
    from portal.cli import SYSTEM, _fail, _team_by_name

    team = _team_by_name(team_name) if team_name else None
    try:
        _token, secret = service.create_token(SYSTEM, name, team.id if team else None)
        db.session.commit()
    except ServiceError as error:
        _fail(error)
    click.echo(secret)
    click.echo("Store this token now: it is not shown again.", err=True)
