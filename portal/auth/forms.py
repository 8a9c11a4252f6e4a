"""Sign-in form."""

from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, PasswordField, StringField
from wtforms.validators import DataRequired, Length


class LoginForm(FlaskForm):
    username = StringField("Username", validators=[
        DataRequired("Enter your username."), Length(max=64, message="Username is too long.")])
    password = PasswordField("Password", validators=[
        DataRequired("Enter your password."), Length(max=256, message="Password is too long.")])
    remember = BooleanField("Keep me signed in")
    next = HiddenField()
