"""The API's error answer, raised by its checks and turned into JSON by its views."""


class ApiError(Exception):
    """An answer other than success: ``code`` is stable, ``message`` is for people."""

    def __init__(self, status: int, code: str, message: str, field: str | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.field = status, code, message, field

    def body(self) -> dict:
        error = {"code": self.code, "message": str(self.message)}
        if self.field:
            error["field"] = self.field
        return {"error": error}
