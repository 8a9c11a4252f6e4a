"""The "Test" on the directory page: each step of a sign-in, in plain language.

Connect (and TLS) → service-account bind → user search → groups and the teams they
give → the user's own bind (only when a password was typed). It stops at the first
failing step, like the SMTP check. Nothing is created or changed in the portal.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flask_babel import gettext as _

from portal.directory import client, links, status
from portal.directory.settings import DirectorySettings


@dataclass
class Step:
    name: str  # shown translated by the template
    ok: bool
    text: str = ""
    details: list[str] = field(default_factory=list)
    warning: bool = False  # worked, but not as it should (e.g. no encryption)


@dataclass
class Report:
    steps: list[Step] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(step.ok for step in self.steps)


ADVICE = {
    "connect": lambda: _("The portal cannot reach any directory server: check the URL, the "
                         "port (389 for ldap://, 636 for ldaps://) and the firewall."),
    "tls": lambda: _("The secure connection failed: the server's certificate may be signed "
                     "by an authority the portal does not trust (set PORTAL_LDAP_CA_FILE to "
                     "the company's CA certificate), or its name does not match the URL."),
    "service_bind": lambda: _("The directory refused the service account: check "
                              "PORTAL_LDAP_BIND_DN and PORTAL_LDAP_BIND_PASSWORD."),
    "search": lambda: _("The search failed: check PORTAL_LDAP_USER_BASE, "
                        "PORTAL_LDAP_GROUP_BASE and the filter."),
}


def _failed(report: Report, cfg: DirectorySettings, error: client.DirectoryError) -> Report:
    status.record_error(cfg, error)
    report.steps.append(Step(error.step, False, ADVICE.get(error.step, str)(),
                             [error.detail] if error.detail else []))
    return report


def run(cfg: DirectorySettings, username: str, password: str = "") -> Report:
    """Try a sign-in step by step; the password, when given, is only bound with."""
    report = Report()
    try:
        conn, url = client.service_connection(cfg)
    except client.DirectoryError as error:
        return _failed(report, cfg, error)
    status.record(cfg, "ok")
    secure = url.lower().startswith("ldaps://") or cfg.starttls
    report.steps.append(Step("connect", True, _("Connected to %(url)s.", url=url)))
    report.steps.append(Step("tls", True, _("The connection is encrypted and the "
                                            "certificate was verified.") if secure else
                             _("The connection is not encrypted: passwords cross the network "
                               "in clear. Use ldaps:// or PORTAL_LDAP_STARTTLS=true."),
                             warning=not secure))
    report.steps.append(Step("service_bind", True, _("The service account signed in.")))
    try:
        _user_steps(report, conn, url, cfg, username.strip(), password)
    except client.DirectoryError as error:
        _failed(report, cfg, error)
    finally:
        client.close(conn)
    return report


def _user_steps(report, conn, url, cfg, username, password) -> None:
    found = client.find_user(conn, cfg, username) if username else None
    if found is None:
        report.steps.append(Step("search", False, _(
            "No single user matches “%(name)s” under %(base)s.", name=username,
            base=cfg.user_base or "—")))
        return
    report.steps.append(Step("search", True, _("Found %(dn)s.", dn=found.dn), [
        _("Name: %(name)s", name=found.name or "—"),
        _("Email: %(email)s", email=found.email or "—")]
        + ([_("This account is disabled in the directory.")] if found.disabled else [])))
    groups = client.groups_of(conn, cfg, found)
    report.steps.append(_group_step(cfg, groups))
    if password:
        ok = client.check_password(cfg, url, found.dn, password)
        report.steps.append(Step("user_bind", ok, _("The password is right.") if ok else
                                 _("The directory refused this password.")))


def _group_step(cfg: DirectorySettings, groups: set[str]) -> Step:
    mapped = links.describe(groups)
    is_admin = bool(cfg.admin_group) and client.normalize_dn(cfg.admin_group) in groups
    details = [_("%(group)s → %(team)s (%(role)s)", group=dn, team=team,
                 role=_("team admin") if role == "admin" else _("agent"))
               for dn, team, role in mapped]
    if is_admin:
        details.append(_("In the administrators' group: system administrator."))
    details += [dn for dn in sorted(groups) if dn not in {m[0] for m in mapped}
                and not (is_admin and dn == client.normalize_dn(cfg.admin_group))]
    ok = is_admin or bool(mapped) or not cfg.refuse_unmapped
    text = (_("Groups found: %(num)d.", num=len(groups)) if ok else
            _("Groups found: %(num)d, none linked to a team: this user would be refused.",
              num=len(groups)))
    return Step("groups", ok, text, details)
