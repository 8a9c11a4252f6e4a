"""Template messages kept as a message id with values, put into words where they are shown.

Templates are rendered in a child process (see ``budget``), by the worker and by the
API, often with no reader in sight; so a render error carries a ``Text`` (an ``N_``
marked message id and its values) that becomes words in the reader's language only
when ``str()`` is called inside their request. Outside a request it reads in English.
The error every caller catches, ``TemplateRenderError``, lives here too (``render``
re-exports it).
"""

from flask_babel import gettext

from portal.i18n.marks import N_

# The parts of a template as named inside a sentence ("Line 2 of the HTML body: …").
LABELS = {"subject": N_("subject"), "html_body": N_("HTML body"),
          "text_body": N_("plain-text body"), "preview_variables": N_("preview variables")}


class Text:
    """``Text(N_("Line %(line)s of the %(part)s: %(problem)s"), line=2, part=...)``.

    Values may be Texts themselves (translated too) or plain values shown as they are
    (names, code samples such as ``{% endif %}``: keep code out of message ids).
    """

    __slots__ = ("msgid", "values")

    def __init__(self, msgid: str, **values) -> None:
        self.msgid = msgid
        self.values = values

    def __str__(self) -> str:
        values = {key: str(value) if isinstance(value, Text) else value
                  for key, value in self.values.items()}
        return gettext(self.msgid, **values) if values else gettext(self.msgid)

    def __getstate__(self):
        return self.msgid, self.values

    def __setstate__(self, state) -> None:
        self.msgid, self.values = state

    def __eq__(self, other) -> bool:
        if isinstance(other, Text):
            return (self.msgid, self.values) == (other.msgid, other.values)
        return NotImplemented

    __hash__ = None

    def __repr__(self) -> str:
        return f"Text({self.msgid!r}, {self.values!r})"


class TemplateRenderError(Exception):
    """A template part cannot be parsed or rendered; ``field`` names the part.

    ``text`` is the message to translate where it is shown, ``message`` the same in
    the current reader's language; ``missing`` is the name of a missing variable
    when that is the problem (for callers that ask for it, whatever the language).
    """

    def __init__(self, field: str, text: Text | str, missing: str | None = None):
        super().__init__(text)
        self.field = field
        self.text = text
        self.missing = missing

    @property
    def message(self) -> str:
        return str(self.text)


def part(field: str) -> Text:
    """The name of a template part, to put into a message."""
    return Text(LABELS[field])
