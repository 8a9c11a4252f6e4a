"""The one refusal type of submitting mail, shared by the rules in ``portal.outbox``."""


class SubmitError(Exception):
    """Mail that cannot be accepted; ``code`` is stable for the API, ``field`` for forms."""

    def __init__(self, code: str, message: str, field: str | None = None, status: int = 422):
        super().__init__(message)
        self.code, self.message, self.field, self.status = code, message, field, status
