"""A marker for text translated later, where it is shown rather than where it is defined."""


def N_(text: str) -> str:
    """Mark ``text`` for the catalogs without translating it now (``pybabel extract``
    collects ``N_`` by default); translate it with ``gettext`` when it is shown."""
    return text
