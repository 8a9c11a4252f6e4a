"""Forms of the directory page and the team page's group links."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Length

from portal.forms import choices, no_control_chars


class GroupLinkForm(FlaskForm):
    group_dn = StringField(_l("Directory group (DN)"), validators=[
        DataRequired(_l("Enter the group's distinguished name (DN).")),
        Length(max=512, message=_l("The group's DN must be at most 512 characters.")),
        no_control_chars,
    ])
    role = SelectField(_l("Role in this team"),
                       choices=choices([("agent", _l("Agent")), ("admin", _l("Team admin"))]))


class DirectoryTestForm(FlaskForm):
    username = StringField(_l("Username"), validators=[
        DataRequired(_l("Enter a username to look up.")), Length(max=256), no_control_chars])
    password = PasswordField(_l("Password (optional)"), validators=[Length(max=1024)])
