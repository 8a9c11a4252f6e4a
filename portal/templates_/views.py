"""Template pages: list, new/edit with a live sandboxed preview, delete with confirmation."""

from flask import Blueprint, flash, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal.access import admin_required, get_or_404
from portal.errors import ServiceError
from portal.extensions import db
from portal.htmx import redirect, render
from portal.teams.service import administered_teams
from portal.templates_ import service
from portal.templates_.forms import MAX_BODY_BYTES, MAX_SAMPLE_CHARS, TemplateForm
from portal.templates_.models import MailTemplate
from portal.templates_.preview import Preview, preview
from portal.templates_.render import TemplateRenderError, check_syntax, variables_in
from portal.templates_.wording import plain_syntax_error, syntax_problems

bp = Blueprint("templates_", __name__, url_prefix="/templates")


def _template_or_404(template_id: int):
    return get_or_404(MailTemplate, template_id, MailTemplate.managed_by(current_user))


def _form(template=None) -> TemplateForm:
    form = TemplateForm(obj=template)
    teams = administered_teams(current_user)
    form.set_team_choices(teams, allow_system=current_user.is_system_admin)
    if request.method == "GET" and template is not None:
        form.team_id.data = str(template.team_id or "")
        form.preview_variables.data = _sample_lines(template)
    elif request.method == "GET":  # "Add a template" on a team's page preselects the team
        wanted = request.args.get("team", "")
        if wanted in {choice.value for choice in form.team_id.choices}:
            form.team_id.data = wanted
    return form


def _plain_errors(form: TemplateForm) -> None:
    """The form's syntax check reports Jinja's own words; show the plain ones instead."""
    parts = {"subject": form.subject.data or "", "html_body": form.html_body.data or "",
             "text_body": form.text_body.data or None}
    for name, message in check_syntax(*parts.values()).items():
        errors = getattr(form, name).errors
        if message in errors:
            errors[errors.index(message)] = plain_syntax_error(name, parts[name]) or message


def _sample_lines(template) -> str:
    """Start the preview with a visible placeholder for every variable the template uses."""
    try:
        names = variables_in(template.subject, template.html_body, template.text_body)
    except TemplateRenderError:  # a stored template that no longer parses gets no sample
        return ""
    return "\n".join(f"{name}=[{name}]" for name in names)


def _values(form: TemplateForm) -> dict:
    return {"name": form.name.data, "team_id": int(form.team_id.data) if form.team_id.data
            else None, "subject": form.subject.data, "html_body": form.html_body.data,
            "text_body": form.text_body.data}


def _preview_of(subject: str, html: str, text: str | None, sample: str) -> Preview:
    """Preview the editor's text; oversized input is refused before any rendering."""
    if not (subject or "").strip() and not (html or "").strip():
        return Preview()
    if (len((html or "").encode()) > MAX_BODY_BYTES or len((text or "").encode()) > MAX_BODY_BYTES
            or len(subject or "") > 998 or len(sample or "") > MAX_SAMPLE_CHARS):
        return Preview(error=_("The template is too large to preview."))
    problems = syntax_problems(subject or "", html or "", text or None)
    if problems:
        return Preview(error=next(iter(problems.values())))
    return preview(subject or "", html or "", text or None, sample or "")


def _form_page(form: TemplateForm, template, status: int = 200):
    if form.errors:
        _plain_errors(form)
    result = _preview_of(form.subject.data, form.html_body.data, form.text_body.data,
                         form.preview_variables.data)
    return render("templates_/form.html", "templates_/_form.html", status=status,
                  form=form, tpl=template, preview=result)


@bp.get("")
@admin_required
def index():
    return render("templates_/index.html", "templates_/_list.html",
                  templates=service.managed_templates(current_user))


@bp.route("/new", methods=["GET", "POST"])
@admin_required
def new():
    form = _form()
    if form.validate_on_submit():
        return _save(form, None)
    return _form_page(form, None, status=422 if form.errors else 200)


@bp.route("/<int:template_id>", methods=["GET", "POST"])
@admin_required
def edit(template_id: int):
    template = _template_or_404(template_id)
    form = _form(template)
    if form.validate_on_submit():
        return _save(form, template)
    return _form_page(form, template, status=422 if form.errors else 200)


def _save(form: TemplateForm, template):
    try:
        saved = service.save_template(current_user, template, _values(form))
        db.session.commit()
    except ServiceError as error:
        db.session.rollback()
        getattr(form, error.field or "name").errors.append(error.message)
        return _form_page(form, template, status=422)
    flash(_("Template “%(name)s” saved.", name=saved.name), "success")
    return redirect(url_for("templates_.index"))


@bp.post("/preview")
@admin_required
def preview_fragment():
    """Live preview of the editor's current text; nothing is saved."""
    form = request.form
    result = _preview_of(form.get("subject", ""), form.get("html_body", ""),
                         form.get("text_body", ""), form.get("preview_variables", ""))
    return render("templates_/_preview.html", preview=result)


@bp.route("/<int:template_id>/delete", methods=["GET", "POST"])
@admin_required
def delete(template_id: int):
    """GET asks for confirmation; POST deletes."""
    template = _template_or_404(template_id)
    if request.method == "GET":
        return render("templates_/delete.html", tpl=template)
    name = template.name
    service.delete_template(current_user, template)
    db.session.commit()
    flash(_("Template “%(name)s” deleted.", name=name), "success")
    return redirect(url_for("templates_.index"))
