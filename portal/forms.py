"""Validators shared by the portal's forms."""

from flask_babel import gettext as _
from wtforms import IntegerField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import ValidationError

from portal.mail import HeaderInjectionError, check_header


def no_control_chars(form, field):
    """Tabs, line breaks and other control characters (Unicode line separators included) are
    never valid in a one-line field, nor hidden in encoded words (``=?utf-8?b?…?=``):
    many of these fields end up in mail headers."""
    if field.data:
        try:
            check_header(str(field.label.text), str(field.data).replace("\t", "\n"))
        except HeaderInjectionError as error:
            raise ValidationError(f"{error.localized()}.") from error


def choices(pairs) -> list[SelectChoice]:
    """Select options from (value, label) pairs."""
    return [SelectChoice(value, label) for value, label in pairs]


class WholeNumberField(IntegerField):
    """An integer input whose parse error names the field."""

    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError as error:
            raise ValueError(_("%(field)s must be a whole number.",
                               field=self.label.text)) from error


def labelled(label: str, errors) -> str:
    """A field's errors with the field named once: ``"Port: must be …"`` style, but
    ``"Port must be a number …"`` is left alone (it names the field already)."""
    label = str(label)  # a lazily translated label or message is a LazyString
    text = " ".join(map(str, errors)) if not isinstance(errors, str) else errors
    return text if text.startswith(label) else label + label_separator() + text


def label_separator() -> str:
    """What stands between a field's name and its error: ": ", or "：" in Chinese."""
    return _(": ")
