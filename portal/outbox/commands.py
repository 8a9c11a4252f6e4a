"""``flask --app portal worker``: the deferred-mail worker as a long-running command."""

import logging
import signal

import click
from flask import current_app
from flask.cli import with_appcontext

from portal.outbox.worker import Worker


@click.command("worker")
@click.option("--once", is_flag=True, help="Run one batch and exit (for cron).")
@click.option("--interval", type=float, default=None,
              help="Seconds between cycles (default PORTAL_WORKER_INTERVAL, 60).")
@click.option("--batch", type=click.IntRange(1, 10000), default=100, show_default=True)
@with_appcontext
def worker_command(once: bool, interval: float | None, batch: int):
    """Deliver deferred mail. SIGTERM/SIGINT finish the message in hand, then stop."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    app = current_app._get_current_object()
    worker = Worker(app, batch=batch,
                    interval=interval if interval is not None else app.config["WORKER_INTERVAL"])
    signal.signal(signal.SIGTERM, worker.stop)
    signal.signal(signal.SIGINT, worker.stop)
    if once:
        claimed = worker.run_once()
        delivered = worker.run_callbacks()  # after the mail: callbacks never delay it
        click.echo(f"Claimed {claimed} message(s); {delivered} callback(s) delivered.")
    else:
        worker.run_forever()
