"""Sign-in form."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, PasswordField, StringField
from wtforms.validators import DataRequired, Length


class LoginForm(FlaskForm):
    username = StringField(_l("Username"), validators=[
        DataRequired(_l("Enter your username.")),
        Length(max=64, message=_l("Username is too long."))])
    password = PasswordField(_l("Password"), validators=[
        DataRequired(_l("Enter your password.")),
        Length(max=256, message=_l("Password is too long."))])
    remember = BooleanField(_l("Keep me signed in"))
    next = HiddenField()
