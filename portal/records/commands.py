"""``flask --app portal purge-records``."""

import click
from flask import current_app
from flask.cli import with_appcontext

from portal.records.retention import purge


@click.command("purge-records")
@click.option("--older-than", "days", type=click.IntRange(min=1), default=None,
              help="Age in days (default RECORDS_RETENTION_DAYS, 365).")
@with_appcontext
def purge_records(days: int | None):
    """Delete sending records older than DAYS; queued, sending and retrying mail is kept."""
    days = days or int(current_app.config["RECORDS_RETENTION_DAYS"])
    count = purge(days)
    click.echo(f"Deleted {count} sending record(s) older than {days} days.")
