"""What every template can use: banners, navigation flags and small filters."""

from flask_login import current_user
from markupsafe import Markup

from portal.banners import current_banners
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

    @app.template_filter("when")
    def when(value):
        """A stored UTC time, shown compactly."""
        return value.strftime("%Y-%m-%d %H:%M UTC") if value else "—"
