"""Dashboard forms (Flask-WTF: each carries the CSRF token of the session).

Validators look their zh-TW messages up when they run, from knowledge/dashboard.yaml.
Choices that depend on the case (allowed moves, who may be assigned) are set by the view;
the workflow itself is the judge of a move, so the status select does not pre-validate.
"""
from __future__ import annotations

from collections.abc import Callable

from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, SelectField, StringField, TextAreaField
from wtforms.validators import ValidationError

from bot.dashboard import text

NOTE_MAX = 500          # a public note goes into a LINE push with the status
INTERNAL_NOTE_MAX = 2000


def required(form, field) -> None:
    if not (field.data or "").strip():
        raise ValidationError(text("errors.required"))


def max_len(n: int) -> Callable:
    def check(form, field) -> None:
        if field.data and len(field.data) > n:
            raise ValidationError(text("errors.too_long", max=n))
    return check


class LoginForm(FlaskForm):
    username = StringField(validators=[required, max_len(40)])
    password = PasswordField(validators=[required, max_len(200)])


class TransitionForm(FlaskForm):
    to_status = SelectField(choices=[], validate_choice=False)
    note = TextAreaField(validators=[max_len(NOTE_MAX)])
    internal_note = TextAreaField(validators=[max_len(INTERNAL_NOTE_MAX)])
    agency = StringField(validators=[max_len(60)])
    agency_phone = StringField(validators=[max_len(30)])
    duplicate_of = StringField(validators=[max_len(30)])
    reason = StringField(validators=[max_len(300)])


class NoteForm(FlaskForm):
    note = TextAreaField(validators=[required, max_len(INTERNAL_NOTE_MAX)])
    internal = BooleanField(default=True)


class TranscriptForm(FlaskForm):
    """What a voice message says, typed by staff (empty clears it)."""
    transcript = TextAreaField(validators=[max_len(INTERNAL_NOTE_MAX)])


class AssignForm(FlaskForm):
    assignee_id = SelectField(choices=[], validate_choice=False)


class PasswordForm(FlaskForm):
    current_password = PasswordField(validators=[required, max_len(200)])
    new_password = PasswordField(validators=[required, max_len(200)])
    new_password2 = PasswordField(validators=[required, max_len(200)])


class StaffCreateForm(FlaskForm):
    username = StringField(validators=[required, max_len(40)])
    display_name = StringField(validators=[required, max_len(40)])
    role = SelectField(choices=[], validate_choice=False)
    section = SelectField(choices=[], validate_choice=False)
