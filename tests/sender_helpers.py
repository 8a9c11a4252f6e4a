"""Form data for sender tests."""

AUTH = {"robot@example.com": "s3cret-auth-code"}
ENCRYPTION = {"plain": "none", "starttls": "starttls", "ssl": "ssl"}


def sender_form(server=None, **overrides) -> dict:
    """A valid sender form; pointed at ``server`` (an SmtpTestServer) when given."""
    data = {
        "name": "Reports", "team_id": "", "host": "smtp.example.com", "port": "587",
        "encryption": "starttls", "address": "robot@example.com", "username": "",
        "password": "", "display_name": "Reporting", "mode": "immediate", "enabled": "y",
        "ca_cert": "", "rate_per_minute": "", "max_connections": "1", "test_recipient": "",
    }
    if server is not None:
        data.update(host=server.host, port=str(server.port), encryption=ENCRYPTION[server.kind])
        if server.kind != "plain":
            data["ca_cert"] = server.ca_pem
        if server.auth:
            data["password"] = next(iter(server.auth.values()))
            if server.kind == "plain":  # a test server on this machine: a trusted network
                data["allow_plain_auth"] = "y"
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}
