"""Team forms."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired, Length

from portal.forms import no_control_chars


class TeamForm(FlaskForm):
    name = StringField(_l("Team name"), validators=[
        DataRequired(_l("Enter a team name.")),
        Length(max=80, message=_l("Team name must be at most 80 characters.")),
        no_control_chars,
    ])
