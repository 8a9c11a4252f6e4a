"""``GET /healthz``: for load balancers and monitors; no sign-in, no secrets."""

from flask import Blueprint, jsonify

from portal.health import (
    hooks,  # noqa: F401  (the stale-worker banner)
    service,
)

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    """Database reachability and the worker's heartbeat as JSON (200, or 503 without a database)."""
    body, status = service.health_report()
    response = jsonify(body)
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response
