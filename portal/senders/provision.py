"""Scripted provisioning: add a sender from plain values with the form's validation."""

from werkzeug.datastructures import MultiDict

from portal.errors import ServiceError
from portal.forms import labelled
from portal.senders import service
from portal.senders.forms import SenderForm
from portal.teams.models import Team


def add_sender(actor, options: dict):
    """Validate ``options`` exactly as the web form would, save, and optionally make default."""
    make_default = options.pop("make_default", False)
    data = {key: "y" if value is True else "" if value is None else str(value)
            for key, value in options.items() if value is not False}  # flags as a form sends
    data["enabled"] = "y"
    form = SenderForm(formdata=MultiDict(data), meta={"csrf": False})
    form.set_team_choices(Team.query.all(), allow_system=True)
    if not form.validate():
        field, errors = next(iter(form.errors.items()))
        label = form[field].label.text if field in form else field
        raise ServiceError(labelled(str(label), [str(error) for error in errors]), field)
    sender = service.save_sender(actor, None, form.values())
    if make_default:
        service.set_default(actor, sender.team_id, sender.id)
    return sender
