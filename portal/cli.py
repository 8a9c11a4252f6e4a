"""Command-line entry points. Thin: they parse options, call services and commit."""

import os
import sys

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext
from sqlalchemy import delete, func, select

from portal import setup_run
from portal.addresses import AddressError, normalize_address
from portal.auth.models import ROLES, User
from portal.auth.service import find_user
from portal.auth.throttle import LoginFailure
from portal.errors import ServiceError
from portal.extensions import db
from portal.outbox.commands import worker_command
from portal.records.commands import purge_records
from portal.senders.commands import sender_group
from portal.teams import service as teams
from portal.teams.models import Team
from portal.tokens.commands import create_token_command
from portal.users import passwords
from portal.users import service as users


class _System:
    """The acting user for commands run by the operator on the server itself."""

    id = None
    is_system_admin = True

    def can_admin_team(self, team_id) -> bool:
        return True


SYSTEM = _System()


def _fail(error: ServiceError):
    db.session.rollback()
    raise click.ClickException(error.message)


def _team_by_name(name: str) -> Team:
    team = db.session.scalar(select(Team).where(func.lower(Team.name) == name.strip().lower()))
    if team is None:
        raise click.ClickException(f"No team named “{name}”. Create it with: team add NAME")
    return team


@click.command("create-admin")
@click.option("--username", prompt=True)
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--display-name", default=None)
@with_appcontext
def create_admin(username: str, password: str, display_name: str | None):
    """Create a system administrator (prompts for missing options)."""
    try:
        user = users.create_user(username=username, password=password,
                                 display_name=display_name, is_system_admin=True)
        db.session.commit()
    except ServiceError as error:
        _fail(error)
    click.echo(f"System administrator “{user.username}” created.")


@click.command("ensure-admin")
@click.option("--username", default="admin", show_default=True)
@with_appcontext
def ensure_admin(username: str):
    """Create a first system admin when there is none (for first start).

    The password comes from PORTAL_ADMIN_PASSWORD, or is generated and written to
    instance/first-admin.txt (mode 0600) rather than printed: ``make run`` shows it
    once the portal answers, and it survives a first start that fails.
    """
    exists = db.session.scalar(select(User.id).where(User.is_system_admin.is_(True)).limit(1))
    if exists is not None:
        click.echo("A system administrator exists already; nothing to do.")
        return
    given = os.environ.get("PORTAL_ADMIN_PASSWORD")
    password = given or passwords.generate()
    try:
        users.create_user(username=username, password=password, is_system_admin=True)
        if not given:
            _keep_first_admin(username, password)
        db.session.commit()
    except ServiceError as error:
        _fail(error)
    if given:
        click.echo(f"First system administrator “{username}” created, "
                   "with the password from PORTAL_ADMIN_PASSWORD.")


def _keep_first_admin(username: str, password: str) -> None:
    """Write the generated credentials to instance/first-admin.txt (else print them once)."""
    path = setup_run.first_admin_path(current_app.instance_path)
    try:
        setup_run.write_first_admin(path, username, password, setup_run.portal_url())
    except OSError as error:
        click.echo(f"Could not write {path} ({error.strerror}).", err=True)
        click.echo(f"First system administrator “{username}” created, password {password}")
        click.echo("Write the password down: it is not shown again.")
        return
    click.echo(f"First system administrator “{username}” created; "
               f"the password is in {path} (readable by you only).")


def _forget_failed_sign_ins(username: str) -> None:
    """Clear the sign-in throttle's count for the username, so a lock does not outlive a reset."""
    db.session.execute(delete(LoginFailure).where(
        LoginFailure.username == username.strip().lower()[:64]))


@click.command("reset-password")
@click.argument("username")
@click.option("--stdin", "from_stdin", is_flag=True,
              help="Read the new password from standard input instead of generating one.")
@with_appcontext
def reset_password(username: str, from_stdin: bool):
    """Give a user a new password and end all their sessions.

    Without --stdin a strong password is generated and printed (alone on standard
    output, so scripts can capture it). Failed sign-ins counted against the
    username are forgotten, so the new password works at once.
    """
    user = find_user(username)
    if user is None:
        raise click.ClickException(f"No user named “{username.strip()}”. "
                                   "Check the spelling under Users.")
    password = sys.stdin.readline().rstrip("\r\n") if from_stdin else passwords.generate()
    problem = passwords.problem(password)
    if problem:
        raise click.ClickException(problem)
    try:
        users.reset_password(user, password)
    except ServiceError as error:
        _fail(error)
    _forget_failed_sign_ins(user.username)
    db.session.commit()
    if not from_stdin:
        click.echo(password)
    stale = setup_run.first_admin_path(current_app.instance_path)
    if setup_run.forget_first_admin(stale, user.username):
        click.echo(f"Removed {stale}: it held the old password.", err=True)
    click.echo(f"New password set for “{user.username}”; every session of this user has "
               "ended.", err=not from_stdin)
    if not user.active:
        click.echo("Note: this account is deactivated, so it cannot sign in until a system "
                   "administrator reactivates it.", err=True)


@click.group("team", cls=AppGroup)
def team_group():
    """Manage teams."""


@team_group.command("add")
@click.argument("name")
def team_add(name: str):
    """Create a team."""
    try:
        team = teams.create_team(SYSTEM, name)
        db.session.commit()
    except ServiceError as error:
        _fail(error)
    click.echo(f"Team “{team.name}” created (id {team.id}).")


@team_group.command("link-group")
@click.argument("team_name", metavar="TEAM")
@click.option("--group", "group_dn", required=True, help="The directory group's DN.")
@click.option("--role", type=click.Choice(ROLES), required=True)
def team_link_group(team_name: str, group_dn: str, role: str):
    """Link a directory group to a team: its members get ROLE there at each sign-in."""
    from portal.directory import links

    team = _team_by_name(team_name)
    try:
        link = links.add_link(SYSTEM, team, group_dn, role)
        db.session.commit()
    except ServiceError as error:
        _fail(error)
    click.echo(f"Members of {link.group_dn} are {role} in team “{team.name}”.")


def _email_option(ctx, param, value: str | None) -> str | None:
    """``--email`` normalized as the users page does it, or a usage error naming the option."""
    if value is None or not value.strip():
        return None
    try:
        return normalize_address(value)
    except AddressError as error:
        raise click.BadParameter(str(error), ctx=ctx, param=param) from error


@click.group("user", cls=AppGroup)
def user_group():
    """Manage users."""


@user_group.command("add")
@click.option("--username", required=True)
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--display-name", default=None)
@click.option("--email", default=None, callback=_email_option,
              help="Checked like every address in the portal (intranet domains are fine).")
@click.option("--team", "team_name", default=None, help="Team to join.")
@click.option("--role", type=click.Choice(ROLES), default="agent", show_default=True)
@click.option("--system-admin", is_flag=True, help="Make the user a system administrator.")
def user_add(username, password, display_name, email, team_name, role, system_admin):
    """Create a user, optionally in a team with a role."""
    try:
        user = users.create_user(username=username, password=password,
                                 display_name=display_name, email=email,
                                 is_system_admin=system_admin)
        if team_name:
            users.set_membership(user, _team_by_name(team_name), role)
        db.session.commit()
    except ServiceError as error:
        _fail(error)
    click.echo(f"User “{user.username}” created (id {user.id}).")


COMMANDS = [create_admin, ensure_admin, reset_password, team_group, user_group, sender_group,
            worker_command, create_token_command, purge_records]


def register(app: Flask) -> None:
    for command in COMMANDS:
        app.cli.add_command(command)
