"""``flask --app portal create-token``: a token for a system, printed once."""

import click
from flask.cli import with_appcontext

from portal.errors import ServiceError
from portal.extensions import db
from portal.tokens import callback, service


@click.command("create-token")
@click.option("--name", required=True, help="Which system uses the token.")
@click.option("--team", "team_name", default=None, help="Team; omit for a system token.")
@click.option("--callback-url", default=None,
              help="Where to POST each message's final state (http or https).")
@with_appcontext
def create_token_command(name: str, team_name: str | None, callback_url: str | None):
    """Create an API token and print it (only its hash is stored).

    Standard output carries the token as its last line, so scripts can capture it
    (``tail -n 1``); with a callback URL, a line ``signing secret: S`` comes first.
    The reminder that both are shown once goes to standard error.
    """
    # Imported here: portal.cli imports this module to list the command.
    from portal.cli import SYSTEM, _fail, _team_by_name

    team = _team_by_name(team_name) if team_name else None
    try:
        token, secret = service.create_token(SYSTEM, name, team.id if team else None)
        signing = callback.set_callback(SYSTEM, token, callback_url) if callback_url else None
        db.session.commit()
    except ServiceError as error:
        _fail(error)
    if signing is not None:
        click.echo(f"signing secret: {signing}")
    click.echo(secret)
    click.echo("Store this token now: it is not shown again.", err=True)
