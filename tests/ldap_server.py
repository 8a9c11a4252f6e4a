"""A throwaway OpenLDAP server for the tests: slapd on 127.0.0.1, seeded, with LDAPS.

``Slapd().start()`` writes a slapd.conf into a temp dir (mdb backend, suffix
``dc=example,dc=com``, schemas core/cosine/inetorgperson/nis, ppolicy overlay),
loads the seed with slapadd and runs ``slapd -d 0`` as a child process listening on
``ldap://127.0.0.1:<port>`` (StartTLS offered) and ``ldaps://127.0.0.1:<port>``. TLS
uses a private CA made by trustme; ``ca_file`` is its PEM.

Disabled accounts: OpenLDAP has no AD-style flag, so ``disable_user`` sets
``pwdAccountLockedTime: 000001010000Z`` (permanent lock of the ppolicy overlay); the
server then answers that user's bind with invalidCredentials (49). ``enable_user``
removes it. The default policy needs ``pwdLockout: TRUE`` for the lock to be honoured;
``pwdMaxFailure: 0`` means wrong passwords never lock anyone (checked in the tests).

Every helper that writes marks the directory dirty; ``reset()`` (used by the
``ldap_dir`` fixture) restores the seed by stopping slapd, reloading the seed with
slapadd and starting it again on the same ports. A fingerprint of every entry's
entryCSN also catches writes made directly with ldap3.

Outages: ``stop()`` closes the ports (connections are refused at once), ``start()``
brings the same server back on the same ports; ``freeze()`` (SIGSTOP) leaves the ports
accepting but silent, so a client waits for its own timeout; ``thaw()`` resumes it.
"""

import base64
import hashlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

SLAPD = "/usr/sbin/slapd"
SLAPADD = "/usr/sbin/slapadd"
SCHEMA_DIR = "/etc/ldap/schema"
MODULE_DIR = "/usr/lib/ldap"

BASE = "dc=example,dc=com"
PEOPLE = f"ou=people,{BASE}"
GROUPS = f"ou=groups,{BASE}"
SERVICES = f"ou=services,{BASE}"
POLICIES = f"ou=policies,{BASE}"
ADMIN_DN = f"cn=admin,{BASE}"
SERVICE_DN = f"cn=portal-svc,{SERVICES}"
LOCKED_FOREVER = "000001010000Z"

# uid -> (cn, sn, displayName, mail, password)
USERS = {
    "alice": ("Alice Wang", "Wang", "王丽", "alice@example.com", "alice-pass-1"),
    "bob": ("Bob Li", "Li", "Bob Li", "bob@example.com", "bob-pass-1"),
    "carol": ("Carol Chen", "Chen", "Carol Chen", "carol@example.com", "carol-pass-1"),
    "dave": ("Dave Zhao", "Zhao", "Dave Zhao", "dave@example.com", "dave-pass-1"),
}
# groupOfNames cn -> member uids
GROUPS_OF_NAMES = {
    "mail-admins": ["bob"],
    "red-admins": ["alice"],
    "red-agents": ["carol", "alice"],
    "portal-admins": ["carol"],
}
# posixGroup cn -> memberUid values
POSIX_GROUPS = {"blue-agents": ["bob"]}

# groupOfNames requires a member; a group whose last member is removed keeps this one.
EMPTY_MEMBER = ""


def ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def require_slapd() -> None:
    """Skip (or, under CI, fail) when OpenLDAP's server is not installed."""
    import pytest

    missing = [p for p in (SLAPD, SLAPADD) if not os.access(p, os.X_OK)]
    if missing:
        message = f"OpenLDAP is not installed ({', '.join(missing)} missing): " \
                  "apt-get install slapd ldap-utils"
        if ci():
            pytest.fail(message)
        pytest.skip(message)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def ssha(password: str) -> str:
    """An OpenLDAP ``{SSHA}`` hash (salted SHA-1), as slappasswd makes."""
    salt = secrets.token_bytes(8)
    digest = hashlib.sha1(password.encode() + salt).digest()  # noqa: S324 - LDAP's format
    return "{SSHA}" + base64.b64encode(digest + salt).decode()


def user_dn(uid: str) -> str:
    return f"uid={uid},{PEOPLE}"


def group_dn(cn: str) -> str:
    return f"cn={cn},{GROUPS}"


def _ldif(entries: list[tuple[str, list[tuple[str, str]]]]) -> str:
    blocks = []
    for dn, attrs in entries:
        lines = [f"dn: {dn}"]
        for name, value in attrs:
            if value == "" or value.isascii() and value.isprintable() and not value.startswith(
                    (" ", ":", "<")):
                lines.append(f"{name}: {value}")
            else:
                lines.append(f"{name}:: {base64.b64encode(value.encode()).decode()}")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n"


def seed_ldif(service_password: str) -> str:
    entries = [
        (BASE, [("objectClass", "top"), ("objectClass", "dcObject"),
                ("objectClass", "organization"), ("dc", "example"), ("o", "Example")]),
    ]
    for ou in ("people", "groups", "services", "policies"):
        entries.append((f"ou={ou},{BASE}", [("objectClass", "organizationalUnit"),
                                            ("ou", ou)]))
    entries.append((f"cn=default,{POLICIES}", [
        ("objectClass", "device"), ("objectClass", "pwdPolicy"), ("cn", "default"),
        ("pwdAttribute", "userPassword"), ("pwdLockout", "TRUE"),
        ("pwdMaxFailure", "0"), ("pwdCheckQuality", "0")]))
    entries.append((SERVICE_DN, [
        ("objectClass", "organizationalRole"), ("objectClass", "simpleSecurityObject"),
        ("cn", "portal-svc"), ("description", "Mailbox Portal service account"),
        ("userPassword", ssha(service_password))]))
    for number, (uid, (cn, sn, display, mail, password)) in enumerate(USERS.items()):
        entries.append((user_dn(uid), _user_attrs(uid, cn, sn, display, mail, password,
                                                  10001 + number)))
    for cn, uids in GROUPS_OF_NAMES.items():
        entries.append((group_dn(cn), [("objectClass", "groupOfNames"), ("cn", cn)]
                        + [("member", user_dn(u)) for u in uids]))
    for number, (cn, uids) in enumerate(POSIX_GROUPS.items()):
        entries.append((group_dn(cn), [("objectClass", "posixGroup"), ("cn", cn),
                                       ("gidNumber", str(20001 + number))]
                        + [("memberUid", u) for u in uids]))
    return _ldif(entries)


def _user_attrs(uid, cn, sn, display, mail, password, number):
    attrs = [("objectClass", "inetOrgPerson"), ("objectClass", "posixAccount"),
             ("uid", uid), ("cn", cn), ("sn", sn), ("mail", mail),
             ("uidNumber", str(number)), ("gidNumber", "10000"),
             ("homeDirectory", f"/home/{uid}")]
    if display:
        attrs.append(("displayName", display))
    if password is not None:
        attrs.append(("userPassword", ssha(password)))
    return attrs


def _die_with_parent() -> None:
    """Linux: slapd gets SIGTERM if the test process dies without stopping it."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


class Slapd:
    """``start()``/``stop()`` (restartable on the same ports), ``reset()`` to the seed."""

    base = BASE
    people_base = PEOPLE
    group_base = GROUPS
    admin_dn = ADMIN_DN
    bind_dn = SERVICE_DN

    def __init__(self):
        self.port = free_port()
        self.ldaps_port = free_port()
        while self.ldaps_port == self.port:
            self.ldaps_port = free_port()
        self.url = f"ldap://127.0.0.1:{self.port}"
        self.ldaps_url = f"ldaps://127.0.0.1:{self.ldaps_port}"
        self.admin_password = "admin-" + secrets.token_hex(8)
        self.bind_password = "svc-" + secrets.token_hex(8)
        self.root = Path(tempfile.mkdtemp(prefix="portal-slapd-"))
        self.data = self.root / "data"
        self.conf = self.root / "slapd.conf"
        self.seed = self.root / "seed.ldif"
        self.log = self.root / "slapd.log"
        self.ca_file = str(self.root / "ca.pem")
        self.process: subprocess.Popen | None = None
        self.dirty = False
        self.frozen = False
        self._fingerprint: frozenset | None = None
        self._write_files()
        self._load_seed()

    # -- setup -----------------------------------------------------------------------

    def _write_files(self) -> None:
        import trustme

        ca = trustme.CA(organization_name="Mailbox Portal tests")
        cert = ca.issue_cert("127.0.0.1", "localhost")
        ca.cert_pem.write_to_path(self.ca_file)
        cert_file, key_file = self.root / "server.pem", self.root / "server.key"
        cert_file.write_bytes(b"".join(blob.bytes() for blob in cert.cert_chain_pems))
        cert.private_key_pem.write_to_path(str(key_file))
        key_file.chmod(0o600)
        self.seed.write_text(seed_ldif(self.bind_password), encoding="utf-8")
        schemas = "\n".join(f"include {SCHEMA_DIR}/{name}.schema"
                            for name in ("core", "cosine", "inetorgperson", "nis"))
        self.conf.write_text(f"""\
{schemas}
modulepath {MODULE_DIR}
moduleload back_mdb
moduleload ppolicy
pidfile {self.root}/slapd.pid
argsfile {self.root}/slapd.args
TLSCACertificateFile {self.ca_file}
TLSCertificateFile {cert_file}
TLSCertificateKeyFile {key_file}
sizelimit 500

database mdb
maxsize 33554432
suffix "{BASE}"
rootdn "{ADMIN_DN}"
rootpw {ssha(self.admin_password)}
directory {self.data}
dbnosync
index objectClass eq
index uid,mail,cn,member,memberUid eq

overlay ppolicy
ppolicy_default "cn=default,{POLICIES}"

access to attrs=userPassword
    by self write
    by anonymous auth
    by * none
access to dn.subtree="{PEOPLE}"
    by dn.exact="{SERVICE_DN}" read
    by self read
    by * none
access to dn.subtree="{GROUPS}"
    by dn.exact="{SERVICE_DN}" read
    by * none
access to dn.base="{BASE}"
    by users read
    by * none
access to *
    by self read
    by * none
""", encoding="utf-8")

    def _load_seed(self) -> None:
        shutil.rmtree(self.data, ignore_errors=True)
        self.data.mkdir()
        done = subprocess.run([SLAPADD, "-q", "-f", str(self.conf), "-l", str(self.seed)],
                              capture_output=True, text=True, timeout=60)
        if done.returncode != 0:
            raise RuntimeError(f"slapadd failed ({done.returncode}):\n{done.stderr}")

    # -- lifecycle -------------------------------------------------------------------

    def start(self, timeout: float = 10.0) -> "Slapd":
        if self.running:
            return self
        log = open(self.log, "ab")  # noqa: SIM115 - owned by the child
        try:
            self.process = subprocess.Popen(
                [SLAPD, "-h", f"{self.url}/ {self.ldaps_url}/", "-f", str(self.conf),
                 "-d", "0"], stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                preexec_fn=_die_with_parent)
        finally:
            log.close()
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                code, self.process = self.process.returncode, None
                raise RuntimeError(f"slapd exited with {code}:\n{self.log_text()}")
            if self._answers():
                break
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"slapd did not answer within {timeout}s:\n"
                                   f"{self.log_text()}")
            time.sleep(0.02)
        self._fingerprint = None
        return self

    def _answers(self) -> bool:
        try:
            with self.admin_connection(timeout=1):
                return True
        except Exception:  # noqa: BLE001 - not up yet
            return False

    def stop(self) -> None:
        """Terminate slapd and wait; connections are refused at once afterwards."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        if self.frozen:
            process.send_signal(signal.SIGCONT)
            self.frozen = False
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)

    def freeze(self) -> None:
        """SIGSTOP slapd: connections are accepted but nothing answers (for timeouts)."""
        if self.running and not self.frozen:
            self.process.send_signal(signal.SIGSTOP)
            self.frozen = True

    def thaw(self) -> None:
        if self.running and self.frozen:
            self.process.send_signal(signal.SIGCONT)
            self.frozen = False

    def close(self) -> None:
        """Stop and remove the temp dir (end of session)."""
        try:
            self.stop()
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log_text(self) -> str:
        try:
            return self.log.read_text(errors="replace")[-4000:]
        except OSError:
            return ""

    def reset(self) -> None:
        """Back to the seed data, running: reloads only when something changed."""
        self.thaw()
        if self.running and not self.dirty and self._fingerprint is not None \
                and self.fingerprint() == self._fingerprint:
            return
        self.stop()
        self._load_seed()
        self.start()
        self.dirty = False
        self._fingerprint = self.fingerprint()

    def fingerprint(self) -> frozenset:
        """Every entry's DN with its entryCSN: changes on any add, modify or delete."""
        with self.admin_connection() as conn:
            conn.search(BASE, "(objectClass=*)", attributes=["entryCSN"])
            return frozenset((e.entry_dn.lower(), str(e["entryCSN"])) for e in conn.entries)

    # -- connections -----------------------------------------------------------------

    def tls(self):
        import ssl

        from ldap3 import Tls

        return Tls(ca_certs_file=self.ca_file, validate=ssl.CERT_REQUIRED)

    def server(self, ldaps: bool = False, timeout: float = 3):
        from ldap3 import NONE, Server

        if ldaps:
            return Server("127.0.0.1", port=self.ldaps_port, use_ssl=True, tls=self.tls(),
                          get_info=NONE, connect_timeout=timeout)
        return Server("127.0.0.1", port=self.port, tls=self.tls(), get_info=NONE,
                      connect_timeout=timeout)

    def connection(self, dn: str, password: str, *, ldaps: bool = False,
                   start_tls: bool = False, timeout: float = 3):
        """An ldap3 Connection, bound (raises LDAPBindError on a refused bind)."""
        from ldap3 import Connection

        conn = Connection(self.server(ldaps, timeout), user=dn, password=password,
                          receive_timeout=timeout, raise_exceptions=False)
        conn.open()
        if start_tls and not conn.start_tls():
            conn.unbind()
            raise RuntimeError(f"StartTLS failed: {conn.result}")
        if not conn.bind():
            result = conn.result
            conn.unbind()
            from ldap3.core.exceptions import LDAPBindError

            raise LDAPBindError(f"bind as {dn} refused: {result}")
        return conn

    def admin_connection(self, timeout: float = 3):
        return self.connection(ADMIN_DN, self.admin_password, timeout=timeout)

    def service_connection(self, timeout: float = 3):
        return self.connection(SERVICE_DN, self.bind_password, timeout=timeout)

    def user_connection(self, uid: str, password: str, **kwargs):
        return self.connection(user_dn(uid), password, **kwargs)

    def can_bind(self, uid: str, password: str) -> bool:
        from ldap3.core.exceptions import LDAPBindError

        try:
            self.user_connection(uid, password).unbind()
        except LDAPBindError:
            return False
        return True

    # -- helpers (as the rootdn) -----------------------------------------------------

    def _write(self, action) -> None:
        self.dirty = True
        with self.admin_connection() as conn:
            ok = action(conn)
            if not ok:
                raise RuntimeError(f"LDAP write failed: {conn.result}")

    @staticmethod
    def _group(conn, cn: str) -> tuple[bool, list[str]]:
        """(is a posixGroup, member DNs) of a group."""
        if not conn.search(group_dn(cn), "(objectClass=*)", search_scope="BASE",
                           attributes=["objectClass", "member"]):
            raise KeyError(f"no group cn={cn}")
        entry = conn.entries[0]
        members = [str(v) for v in entry["member"].values] \
            if "member" in entry.entry_attributes else []
        posix = "posixgroup" in {str(v).lower() for v in entry["objectClass"].values}
        return posix, members

    def add_to_group(self, group_cn: str, uid: str) -> None:
        from ldap3 import MODIFY_ADD, MODIFY_DELETE

        def action(conn):
            posix, members = self._group(conn, group_cn)
            if posix:
                return conn.modify(group_dn(group_cn), {"memberUid": [(MODIFY_ADD, [uid])]})
            changes = [(MODIFY_ADD, [user_dn(uid)])]
            if EMPTY_MEMBER in members:
                changes.append((MODIFY_DELETE, [EMPTY_MEMBER]))
            return conn.modify(group_dn(group_cn), {"member": changes})

        self._write(action)

    def remove_from_group(self, group_cn: str, uid: str) -> None:
        """Remove a member; a groupOfNames left empty keeps the empty DN as member."""
        from ldap3 import MODIFY_DELETE, MODIFY_REPLACE

        def action(conn):
            posix, members = self._group(conn, group_cn)
            if posix:
                return conn.modify(group_dn(group_cn),
                                   {"memberUid": [(MODIFY_DELETE, [uid])]})
            rest = [m for m in members if m.lower() != user_dn(uid).lower()]
            return conn.modify(group_dn(group_cn),
                               {"member": [(MODIFY_REPLACE, rest or [EMPTY_MEMBER])]})

        self._write(action)

    def add_group(self, cn: str, uids=(), posix: bool = False) -> str:
        """A new group under ou=groups (groupOfNames, or posixGroup with memberUid)."""
        if posix:
            attrs = {"cn": cn, "gidNumber": str(20000 + secrets.randbelow(10000))}
            if uids:
                attrs["memberUid"] = list(uids)
            classes = ["posixGroup"]
        else:
            attrs = {"cn": cn, "member": [user_dn(u) for u in uids] or [EMPTY_MEMBER]}
            classes = ["groupOfNames"]
        self._write(lambda conn: conn.add(group_dn(cn), classes, attrs))
        return group_dn(cn)

    def delete_group(self, cn: str) -> None:
        self._write(lambda conn: conn.delete(group_dn(cn)))

    def add_user(self, uid: str, password: str | None, *, cn: str | None = None,
                 mail: str | None = None, display_name: str | None = None) -> str:
        cn = cn or uid.title()
        attrs: dict[str, list[str]] = {}
        for name, value in _user_attrs(uid, cn, cn.split()[-1], display_name,
                                       mail or f"{uid}@example.com", password,
                                       30000 + secrets.randbelow(10000)):
            attrs.setdefault(name, []).append(value)
        classes = attrs.pop("objectClass")
        self._write(lambda conn: conn.add(user_dn(uid), classes, attrs))
        return user_dn(uid)

    def modify_user(self, uid: str, **attrs) -> None:
        """Replace attributes, e.g. ``modify_user("alice", mail="new@example.com")``;
        a value of None deletes the attribute."""
        from ldap3 import MODIFY_DELETE, MODIFY_REPLACE

        changes = {name: [(MODIFY_DELETE, [])] if value is None else
                   [(MODIFY_REPLACE, value if isinstance(value, list) else [value])]
                   for name, value in attrs.items()}
        self._write(lambda conn: conn.modify(user_dn(uid), changes))

    def set_password(self, uid: str, password: str) -> None:
        self.modify_user(uid, userPassword=ssha(password))

    def delete_user(self, uid: str) -> None:
        self._write(lambda conn: conn.delete(user_dn(uid)))

    def disable_user(self, uid: str) -> None:
        """Permanent ppolicy lock: binds as the user are refused (invalidCredentials)."""
        self.modify_user(uid, pwdAccountLockedTime=LOCKED_FOREVER)

    def enable_user(self, uid: str) -> None:
        self.modify_user(uid, pwdAccountLockedTime=None)
