"""Team forms."""

from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired, Length

from portal.forms import no_control_chars


class TeamForm(FlaskForm):
    name = StringField("Team name", validators=[
        DataRequired("Enter a team name."),
        Length(max=80, message="Team name must be at most 80 characters."),
        no_control_chars,
    ])
