"""Validators shared by the portal's forms."""

import re

from wtforms import IntegerField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import ValidationError

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def no_control_chars(form, field):
    """Line breaks and other control characters are never valid in a one-line field."""
    if field.data and _CONTROL.search(str(field.data)):
        raise ValidationError(f"{field.label.text} must be one line without control characters.")


def choices(pairs) -> list[SelectChoice]:
    """Select options from (value, label) pairs."""
    return [SelectChoice(value, label) for value, label in pairs]


class WholeNumberField(IntegerField):
    """An integer input whose parse error names the field."""

    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError as error:
            raise ValueError(f"{self.label.text} must be a whole number.") from error


def labelled(label: str, errors) -> str:
    """A field's errors with the field named once: ``"Port: must be …"`` style, but
    ``"Port must be a number …"`` is left alone (it names the field already)."""
    text = " ".join(errors) if not isinstance(errors, str) else errors
    return text if text.startswith(label) else f"{label}: {text}"
