"""Failed sign-ins are limited per address and user, per address, and per user, and the
counts are shared by every process using the database."""

from portal import create_app
from tests.conftest import PASSWORD


def _fail(client, username, address="10.1.1.1"):
    return client.post("/login", data={"username": username, "password": "wrong"},
                       environ_base={"REMOTE_ADDR": address})


def _good(client, username, address="10.1.1.1"):
    return client.post("/login", data={"username": username, "password": PASSWORD},
                       environ_base={"REMOTE_ADDR": address})


def test_one_address_guessing_many_accounts_is_stopped(app, client, world):
    app.config.update(LOGIN_RATE_LIMIT_PER_ADDRESS="4 per 15 minutes")
    for name in ("root", "red_agent", "blue_agent", "red_admin"):
        assert _fail(client, name).status_code == 422
    assert _good(client, "blue_admin").status_code == 429
    assert _good(app.test_client(), "blue_admin", address="10.2.2.2").status_code == 303


def test_many_addresses_guessing_one_account_are_stopped(app, world):
    """Past the per-user limit every address that guessed wrong is stopped, and each new
    address gets one guess; the owner at a clean address is not locked out."""
    app.config.update(LOGIN_RATE_LIMIT_PER_USER="4 per 15 minutes")
    for number in range(4):
        assert _fail(app.test_client(), "root", address=f"10.0.0.{number}").status_code == 422
    refused = _good(app.test_client(), "root", address="10.0.0.1")
    assert refused.status_code == 429 and "Too many attempts" in refused.get_data(as_text=True)
    assert _fail(app.test_client(), "root", address="10.0.0.99").status_code == 422
    assert _good(app.test_client(), "root", address="10.0.0.99").status_code == 429
    assert _good(app.test_client(), "root", address="10.8.8.8").status_code == 303
    assert _good(app.test_client(), "red_agent", address="10.0.0.1").status_code == 303


def test_the_count_is_shared_by_every_process(app, app_config, world):
    """A second app on the same database (another gunicorn worker or host) sees the
    failures the first one counted."""
    app.config.update(LOGIN_RATE_LIMIT="3 per minute")
    for _ in range(3):
        assert _fail(app.test_client(), "root").status_code == 422
    other_process = create_app({**app_config, "LOGIN_RATE_LIMIT": "3 per minute"})
    assert _good(other_process.test_client(), "root").status_code == 429
