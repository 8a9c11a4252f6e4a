"""The JSON API other systems send mail through (``/api/v1``, Bearer-token authenticated)."""
