"""What every template can use: banners, navigation flags and small filters."""

from flask_login import current_user
from markupsafe import Markup

from portal.banners import current_banners
from portal.forms import label_separator, labelled
from portal.htmx import is_htmx
from portal.mail.diagnosis import describe


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
        text, between = labelled(label, errors), label_separator()
        if text.startswith(label + between):
            return Markup("<strong>{}</strong>{}{}").format(
                label, between, text[len(label) + len(between):])
        return Markup("{}").format(text)

    for name, func in FILTERS.items():
        app.add_template_filter(func, name)


FILTERS = {"diagnosis_text": describe}
