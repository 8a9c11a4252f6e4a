"""The one refusal type of submitting mail, shared by the rules in ``portal.outbox``."""


class SubmitError(Exception):
    """Mail that cannot be accepted; ``code`` is stable for the API, ``field`` for forms,
    ``retry_after`` (seconds) for a refusal that passes with time (a quota)."""

    def __init__(self, code: str, message: str, field: str | None = None, status: int = 422,
                 retry_after: int | None = None):
        super().__init__(message)
        self.code, self.message, self.field, self.status = code, message, field, status
        self.retry_after = retry_after
