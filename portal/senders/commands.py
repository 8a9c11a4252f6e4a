"""``flask --app portal sender add``: a sender from the command line, validated like the form."""

import sys

import click
from flask.cli import AppGroup

from portal.errors import ServiceError
from portal.extensions import db
from portal.senders.provision import add_sender


@click.group("sender", cls=AppGroup)
def sender_group():
    """Manage sender accounts."""


@sender_group.command("add")
@click.option("--name", required=True)
@click.option("--host", required=True)
@click.option("--port", required=True, type=int)
@click.option("--encryption", required=True, type=click.Choice(["ssl", "starttls", "none"]))
@click.option("--address", required=True)
@click.option("--display-name", required=True)
@click.option("--username", default=None)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.option("--team", "team_name", default=None, help="Team; omit for a system-level sender.")
@click.option("--mode", type=click.Choice(["immediate", "deferred"]), default="immediate")
@click.option("--max-connections", type=int, default=1, show_default=True)
@click.option("--rate-per-minute", type=int, default=None)
@click.option("--ca-cert", type=click.File("r"), default=None, help="PEM file of a CA to trust.")
@click.option("--default", "make_default", is_flag=True, help="Make it its scope's default.")
@click.option("--allow-plain-auth", is_flag=True,
              help="Allow logging in without encryption (trusted networks only).")
@click.option("--auth", "auth_method", type=click.Choice(["password", "oauth2"]),
              default="password", show_default=True, help="How the sender logs in.")
@click.option("--oauth-provider", type=click.Choice(["microsoft", "google", "generic"]),
              default="microsoft", show_default=True)
@click.option("--oauth-tenant", default=None, help="Microsoft 365 tenant id or domain.")
@click.option("--oauth-client-id", default=None)
@click.option("--oauth-client-secret-stdin", is_flag=True,
              help="Read the client secret from standard input (after the password, if "
                   "--password-stdin is given too).")
@click.option("--oauth-token-url", default=None,
              help="Token endpoint; default: the provider's (https://, or http:// on "
                   "127.0.0.1/localhost).")
@click.option("--oauth-scope", default=None, help="Default: the provider's SMTP scope.")
def sender_add(**options):
    """Add a sender account (validated like the form) and print its id.

    OAuth2 senders added here use client credentials (application sign-in); a
    delegated sender's account is connected on the sender form in the browser."""
    # Imported here: portal.cli imports this module to list the command.
    from portal.cli import SYSTEM, _fail, _team_by_name

    password = sys.stdin.readline().rstrip("\r\n") if options.pop("password_stdin") else None
    if options.pop("oauth_client_secret_stdin"):
        options["oauth_client_secret"] = sys.stdin.readline().rstrip("\r\n")
    if options["auth_method"] == "oauth2":
        options["oauth_flow"] = "application"
    team = _team_by_name(options.pop("team_name")) if options.get("team_name") else None
    options.pop("team_name", None)
    ca_file = options.pop("ca_cert")
    try:
        sender = add_sender(SYSTEM, dict(options, password=password,
                                         ca_cert=ca_file.read() if ca_file else None,
                                         team_id=team.id if team else None))
        db.session.commit()
    except ServiceError as error:
        _fail(error)
    click.echo(sender.id)
