"""Banners shown at the top of every page (e.g. "mailbox not configured").

Features register a provider; each returns the banners that apply to the
signed-in user. Providers must be cheap: they run on every full page.
"""

from dataclasses import dataclass

from flask_login import current_user

_providers = []


@dataclass(frozen=True)
class Banner:
    level: str  # "warning" or "info"
    text: str
    link: str | None = None
    link_text: str | None = None


def provider(func):
    """Register a function ``func(user) -> list[Banner]``."""
    _providers.append(func)
    return func


def current_banners() -> list[Banner]:
    if not current_user.is_authenticated:
        return []
    found: list[Banner] = []
    for func in _providers:
        found.extend(func(current_user))
    return found
