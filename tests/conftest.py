"""Shared fixtures: an app per test on a temporary database, login and htmx helpers."""

pytest_plugins = ["tests.smtp_servers"]
