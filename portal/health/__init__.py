"""Health: ``GET /healthz`` for monitors and the deferred-mail worker's heartbeat."""
