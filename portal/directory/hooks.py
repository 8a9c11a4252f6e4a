"""The directory's banner for system admins: the service account is refused, or the
directory cannot be reached (as last seen by this process; nothing is asked here, so
the banner stays cheap)."""

from flask import url_for
from flask_babel import gettext as _

from portal.banners import Banner, provider
from portal.directory import status
from portal.directory.signin import settings


@provider
def directory_banners(user) -> list[Banner]:
    if not user.is_system_admin:
        return []
    cfg = settings()
    if not cfg.enabled:
        return []
    state = status.last(cfg)
    if state == "service_bind_failed":
        text = _("The directory refused the portal's service account, so directory users "
                 "cannot sign in. Check PORTAL_LDAP_BIND_DN and PORTAL_LDAP_BIND_PASSWORD.")
    elif state == "unreachable":
        text = _("The directory cannot be reached; local accounts still work.")
    else:
        return []
    return [Banner("warning", text, url_for("directory.index"), _("Open the directory page"))]
