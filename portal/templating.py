"""What every template can use: banners, navigation flags and small filters."""

from flask_login import current_user
from markupsafe import Markup

from portal.banners import current_banners
from portal.dbtypes import utcnow
from portal.forms import labelled
from portal.htmx import is_htmx


def register(app) -> None:
    @app.context_processor
    def portal_globals():
        user = current_user if current_user.is_authenticated else None
        return {
            "banners": current_banners,
            "nav_is_admin": bool(user and user.is_any_admin),
            "nav_is_system_admin": bool(user and user.is_system_admin),
            "is_htmx": is_htmx(),
        }

    @app.template_filter("labelled")
    def labelled_html(label: str, errors) -> Markup:
        """``labelled`` for a page: the field's name in bold where it is put in front."""
        text = labelled(label, errors)
        if text.startswith(f"{label}: "):
            return Markup("<strong>{}</strong>: {}").format(label, text[len(label) + 2:])
        return Markup("{}").format(text)

    for name, func in FILTERS.items():
        app.add_template_filter(func, name)


def when(value):
    """A stored UTC time, shown compactly."""
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else "—"


def short_when(value):
    """A time for a dense table: "11-30 23:31" this year, "2025-11-30" before; the
    full time goes in the cell's title."""
    if not value:
        return "—"
    if value.year == utcnow().year:
        return value.strftime("%m-%d %H:%M")
    return value.strftime("%Y-%m-%d")


def ago(value):
    """How long ago, in the largest whole unit: "just now", "5 min ago", "3 h ago"."""
    if not value:
        return "never"
    seconds = max(0, int((utcnow() - value).total_seconds()))
    for size, unit in ((86400, "d"), (3600, "h"), (60, "min")):
        if seconds >= size:
            return f"{seconds // size} {unit} ago"
    return "just now"


def plural(count: int, singular: str, many: str | None = None) -> str:
    """ "1 message", "2 messages", "1,000 messages"."""
    word = singular if count == 1 else (many or singular + "s")
    return f"{count:,} {word}"


FILTERS = {"when": when, "short_when": short_when, "ago": ago, "plural": plural}
