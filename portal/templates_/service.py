"""Template rules: who sees and manages which template, unique names per scope, saving.

System-level templates are managed only by system admins, a team's templates by
that team's admins. Everyone may *use* system templates and their own teams'.
"""

from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError

from portal.errors import ServiceError
from portal.extensions import db
from portal.teams import scope
from portal.teams import service as teams_service
from portal.teams.models import Team
from portal.templates_.models import MailTemplate
from portal.templates_.render import check_budget
from portal.templates_.wording import syntax_problems

EDITABLE = ("name", "team_id", "subject", "html_body", "text_body")


def _ordered(query):
    """System templates first, then by name."""
    return query.order_by(MailTemplate.team_id.is_not(None), func.lower(MailTemplate.name),
                          MailTemplate.id)


def visible_templates(user) -> list[MailTemplate]:
    """Templates the user may use: all for system admins, else system-level + their teams'."""
    return list(db.session.scalars(_ordered(select(MailTemplate).where(
        MailTemplate.visible_to(user)))))


def managed_templates(user) -> list[MailTemplate]:
    """Templates the user may change: all for system admins, their admin teams' otherwise."""
    return list(db.session.scalars(_ordered(select(MailTemplate).where(
        MailTemplate.managed_by(user)))))


def get_usable_template(user, name_or_id: int | str, team_id: int | None
                        ) -> MailTemplate | None:
    """The template mail sent for ``team_id`` may use, by id (int) or name (str).

    Only system-level templates and ``team_id``'s own are candidates; a team's
    template wins over a system template of the same name. ``user`` None means
    the caller is already scoped to ``team_id`` (an API token); a user must be
    a member of that team (or a system admin). None when nothing matches.
    """
    if user is not None and not scope.may_see(team_id, user):
        return None
    candidates = MailTemplate.team_id.is_(None)
    if team_id is not None:
        candidates = or_(candidates, MailTemplate.team_id == team_id)
    query = select(MailTemplate).where(candidates)
    if isinstance(name_or_id, int) and not isinstance(name_or_id, bool):
        query = query.where(MailTemplate.id == name_or_id)
    else:
        name = " ".join(str(name_or_id).split()).lower()
        query = query.where(func.lower(MailTemplate.name) == name)
    query = query.order_by(MailTemplate.team_id.is_(None), MailTemplate.id)
    return db.session.scalars(query).first()


def _check_scope(actor, team_id: int | None) -> None:
    if not actor.can_admin_team(team_id):
        if team_id is None:
            raise ServiceError(_("Only system administrators can manage system-level "
                                 "templates. Choose one of your teams."), "team_id")
        raise ServiceError(_("You cannot manage templates of that team."), "team_id")
    if team_id is not None and db.session.get(Team, team_id) is None:
        raise ServiceError(_("That team does not exist. Choose another."), "team_id")


def _duplicate_message(name: str, team_id: int | None) -> str:
    if team_id is None:
        return _("A template named “%(name)s” already exists at system level. Choose "
                 "another name.", name=name)
    return _("A template named “%(name)s” already exists in this team. Choose another "
             "name.", name=name)


def _check_name(name: str, team_id: int | None, exclude_id: int | None) -> str:
    """Normalise spaces and refuse a name already used in the scope (any letter case)."""
    name = " ".join((name or "").split())
    if not name:
        raise ServiceError(_("Enter a name for the template."), "name")
    query = select(MailTemplate.id).where(func.lower(MailTemplate.name) == name.lower())
    query = query.where(MailTemplate.team_id.is_(None) if team_id is None
                        else MailTemplate.team_id == team_id)
    if exclude_id is not None:
        query = query.where(MailTemplate.id != exclude_id)
    if db.session.scalar(query) is not None:
        raise ServiceError(_duplicate_message(name, team_id), "name")
    return name


def _clean(values: dict) -> dict:
    """The editable values, checked for what a form might not have: syntax, one-line subject."""
    cleaned = {name: values.get(name) for name in EDITABLE}
    cleaned["subject"] = (cleaned["subject"] or "").strip()
    cleaned["text_body"] = (cleaned["text_body"] or "").strip() or None
    if not cleaned["subject"] or "\r" in cleaned["subject"] or "\n" in cleaned["subject"]:
        raise ServiceError(_("Enter a subject on one line."), "subject")
    if not (cleaned["html_body"] or "").strip():
        raise ServiceError(_("Enter the HTML body."), "html_body")
    problems = syntax_problems(cleaned["subject"], cleaned["html_body"], cleaned["text_body"])
    if problems:
        field, message = next(iter(problems.items()))
        raise ServiceError(message, field)
    too_costly = check_budget(cleaned["subject"], cleaned["html_body"], cleaned["text_body"])
    if too_costly:
        raise ServiceError(too_costly, "html_body")
    return cleaned


def save_template(actor, template: MailTemplate | None, values: dict) -> MailTemplate:
    """Create (``template`` None) or update; raises ServiceError naming the bad field."""
    if template is not None and not actor.can_admin_team(template.team_id):
        raise ServiceError(_("You cannot manage this template."))
    _check_scope(actor, values.get("team_id"))
    cleaned = _clean(values)
    cleaned["name"] = _check_name(cleaned["name"], cleaned["team_id"],
                                  template.id if template is not None else None)
    if template is None:
        template = MailTemplate()
        db.session.add(template)
    for name, value in cleaned.items():
        setattr(template, name, value)
    try:
        db.session.flush()
    except IntegrityError:  # a concurrent save took the name between check and flush
        raise ServiceError(_duplicate_message(cleaned["name"], cleaned["team_id"]),
                           "name") from None
    return template


def delete_template(actor, template: MailTemplate) -> None:
    """Sending records keep the template's name, so deleting never breaks history."""
    if not actor.can_admin_team(template.team_id):
        raise ServiceError(_("You cannot manage this template."))
    db.session.delete(template)
    db.session.flush()


def _templates_left(team) -> str | None:
    """Team-deletion check: a team that still owns templates cannot be deleted."""
    count = db.session.scalar(select(func.count()).select_from(MailTemplate)
                              .where(MailTemplate.team_id == team.id))
    return ngettext("it still has %(num)d template", "it still has %(num)d templates",
                    count) if count else None


if _templates_left not in teams_service.EMPTY_CHECKS:
    teams_service.EMPTY_CHECKS.append(_templates_left)
