"""The e-mail policies the portal composes with: the standard ``SMTP`` and ``SMTPUTF8``
policies, with header classes made once instead of for every header.

The standard library's ``HeaderRegistry`` creates a new class with ``type()`` each time
it is asked for one, that is for every header set or read (Subject, From, To,
Content-Type, …): most of the time spent composing a small mail, and garbage for the
cycle collector. This registry keeps the classes it made, per header name. The header
classes, their parsing and their folding are the standard ones, unchanged.
"""

from email import policy
from email.headerregistry import HeaderRegistry


class CachedHeaderRegistry(HeaderRegistry):
    """``HeaderRegistry`` that makes each header name's class once."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._made: dict[str, type] = {}

    def map_to_type(self, name, cls):
        self._made.pop(name.lower(), None)
        super().map_to_type(name, cls)

    def __getitem__(self, name):
        key = name.lower()
        found = self._made.get(key)
        if found is None:  # a race only makes the same class twice: harmless
            found = self._made[key] = super().__getitem__(name)
        return found


SMTP = policy.SMTP.clone(header_factory=CachedHeaderRegistry())
SMTPUTF8 = policy.SMTPUTF8.clone(header_factory=CachedHeaderRegistry())
