"""Sending records: filtering, export, chart, retention."""

from portal.records import search  # noqa: F401  (installs the recipient search index hooks)
