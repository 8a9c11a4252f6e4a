"""The compose form. Template variables arrive as extra ``var_<name>`` fields."""

import re

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    MultipleFileField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional

from portal.forms import choices, no_control_chars
from portal.i18n import zones
from portal.templates_.render import TemplateRenderError, render_template_parts, variables_in

_SPLIT = re.compile(r"[,;\s]+")
FREE_TEXT = ("subject", "html_body", "text_body")


def split_addresses(raw: str | None) -> list[str]:
    """Addresses typed with commas, semicolons, spaces or one per line."""
    return [part for part in _SPLIT.split(raw or "") if part]


def preselected_sender(user, senders) -> int | None:
    """The sender the page starts with, among ``senders`` (those the user may use): the
    default of the user's first team that has one (teams by name), else the system default."""
    teams = sorted((m.team for m in user.memberships), key=lambda team: team.name.lower())
    for team in teams:
        found = next((s for s in senders if s.team_id == team.id and s.is_default), None)
        if found is not None:
            return found.id
    system = next((s for s in senders if s.team_id is None and s.is_default), None)
    return system.id if system is not None else None


def template_variables(template) -> list[str]:
    """The names a template asks the sender to fill in (none when no template is chosen)."""
    if template is None:
        return []
    return variables_in(template.subject, template.html_body, template.text_body)


def _missing_name(error: TemplateRenderError, candidates: list[str]) -> str | None:
    """The candidate a render error reports as missing, if it is that kind of error
    (``error.missing`` names it in any language)."""
    return error.missing if error.missing in candidates else None


def required_blanks(template, values: dict) -> tuple[dict, list[str]]:
    """The values to send and the blank variables the template cannot do without.

    A blank input counts as a value left out, so the template's own rule decides, as it
    does for an API call that omits a variable: a plain ``{{ name }}`` needs it (an error,
    never a silently blank greeting), ``{{ name | default('') }}`` does not. Only when
    something is blank is the template rendered here, once per missing name at most.
    """
    filled = {name: value for name, value in values.items() if value.strip()}
    blank = [name for name in template_variables(template) if name not in filled]
    missing, trial = [], dict(filled)
    for _attempt in blank:
        try:
            render_template_parts(template.subject, template.html_body, template.text_body,
                                  trial)
            break
        except TemplateRenderError as error:
            name = _missing_name(error, [n for n in blank if n not in missing])
            if name is None:
                break  # another problem: sending reports it
            missing.append(name)
            trial[name] = ""
    return filled, [name for name in blank if name in missing]


def _mode(mode: str) -> str:
    """A sender's send mode as a word: immediate, or deferred (queued)."""
    return {"immediate": _("immediate"), "deferred": _("deferred (queued)")}.get(mode, mode)


class ComposeForm(FlaskForm):
    sender_id = SelectField(_l("Send from"), validators=[DataRequired(_l("Choose a sender."))])
    to = TextAreaField(_l("To"), validators=[DataRequired(_l("Enter at least one recipient.")),
                                             Length(max=20000)])
    cc = StringField(_l("Cc"), validators=[Optional(), Length(max=5000)])
    bcc = StringField(_l("Bcc"), validators=[Optional(), Length(max=5000)])
    individually = BooleanField(_l("Send individually (one message per To address, queued)"))
    template_id = SelectField(_l("Template"), validators=[Optional()])
    subject = StringField(_l("Subject"), validators=[
        Optional(), Length(max=998, message=_l("Subject must be at most 998 characters.")),
        no_control_chars])
    html_body = TextAreaField(_l("Message (HTML)"),
                              validators=[Optional(), Length(max=200_000)])
    text_body = TextAreaField(_l("Plain-text version (optional)"),
                              validators=[Optional(), Length(max=200_000)])
    attachments = MultipleFileField(_l("Attachments"))
    send_at = DateTimeLocalField(_l("Send later (optional)"), validators=[Optional()],
                                 format=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"])
    resource = StringField(_l("About (report, job or page)"), validators=[
        Optional(), Length(max=500, message=_l("About must be at most 500 characters.")),
        no_control_chars])

    def set_choices(self, senders, templates) -> None:
        self.sender_id.choices = choices(
            [("", _("Choose a sender…"))]
            + [(str(s.id), _("%(name)s <%(address)s> · %(scope)s · %(mode)s", name=s.name,
                             address=s.address, scope=s.scope_label, mode=_mode(s.mode)))
               for s in senders])
        self.template_id.choices = choices(
            [("", _("No template: write the message below"))]
            + [(str(t.id), _("%(name)s (%(team)s)", name=t.name,
                             team=t.team.name if t.team else _("System")))
               for t in templates])

    def validate(self, extra_validators=None) -> bool:
        """With a template chosen, subject and bodies come from it: what was typed in the
        (locked) free-text fields is neither checked nor sent."""
        if self.template_id.data:
            for name in FREE_TEXT:
                self[name].validators = []
        return super().validate(extra_validators)

    def send_at_utc(self):
        """"Send later" in the reader's own zone, as a UTC instant (None: send now)."""
        return zones.from_local(self.send_at.data) if self.send_at.data else None

    def variables(self, form_data) -> dict:
        """Values typed for the template's variables."""
        return {key[4:]: value for key, value in form_data.items() if key.startswith("var_")}
