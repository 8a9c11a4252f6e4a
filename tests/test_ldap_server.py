"""The throwaway OpenLDAP server itself (tests/ldap_server.py and the conftest fixtures)."""

import time

import pytest
from ldap3.core.exceptions import LDAPBindError, LDAPException

from tests.ldap_server import BASE, EMPTY_MEMBER, GROUPS, PEOPLE, user_dn

pytestmark = pytest.mark.backend_free  # no database: runs once, in the SQLite pass


def members(directory, cn):
    with directory.admin_connection() as conn:
        conn.search(f"cn={cn},{GROUPS}", "(objectClass=*)", search_scope="BASE",
                    attributes=["member", "memberUid"])
        entry = conn.entries[0]
        return sorted(str(v) for name in ("member", "memberUid")
                      if name in entry.entry_attributes for v in entry[name].values)


def test_bind_as_alice(ldap_dir):
    conn = ldap_dir.user_connection("alice", "alice-pass-1")
    assert conn.extend.standard.who_am_i() == f"dn:{user_dn('alice')}"
    conn.unbind()
    with pytest.raises(LDAPBindError, match="invalidCredentials"):
        ldap_dir.user_connection("alice", "wrong")
    assert not ldap_dir.can_bind("nobody", "alice-pass-1")


def test_ldaps_verifies_with_the_private_ca(ldap_dir):
    import ssl

    from ldap3 import Connection, Server, Tls

    conn = ldap_dir.connection(ldap_dir.bind_dn, ldap_dir.bind_password, ldaps=True)
    assert conn.server.ssl and conn.socket.version().startswith("TLS")
    conn.unbind()
    assert ldap_dir.ldaps_url == f"ldaps://127.0.0.1:{ldap_dir.ldaps_port}"
    # Without the CA the certificate is refused.
    strict = Tls(validate=ssl.CERT_REQUIRED)
    server = Server("127.0.0.1", port=ldap_dir.ldaps_port, use_ssl=True, tls=strict,
                    connect_timeout=2)
    with pytest.raises(LDAPException):
        Connection(server, auto_bind=True, receive_timeout=2)


def test_starttls(ldap_dir):
    conn = ldap_dir.connection(user_dn("bob"), "bob-pass-1", start_tls=True)
    assert conn.tls_started
    conn.unbind()


def test_service_account_reads_people_and_groups_anonymous_does_not(ldap_dir):
    from ldap3 import Connection

    with ldap_dir.service_connection() as conn:
        conn.search(PEOPLE, "(uid=alice)", attributes=["cn", "displayName", "mail"])
        (alice,) = conn.entries
        assert (alice.cn.value, alice.displayName.value, alice.mail.value) == (
            "Alice Wang", "王丽", "alice@example.com")
        conn.search(PEOPLE, "(objectClass=inetOrgPerson)", attributes=["uid", "userPassword"])
        assert sorted(e.uid.value for e in conn.entries) == ["alice", "bob", "carol", "dave"]
        assert not any(e.entry_attributes_as_dict.get("userPassword") for e in conn.entries)
        conn.search(GROUPS, f"(member={user_dn('alice')})", attributes=["cn"])
        assert sorted(e.cn.value for e in conn.entries) == ["red-admins", "red-agents"]
        conn.search(GROUPS, "(memberUid=bob)", attributes=["cn"])
        assert [e.cn.value for e in conn.entries] == ["blue-agents"]
        conn.search(GROUPS, f"(member={user_dn('dave')})")
        assert conn.entries == []
    anonymous = Connection(ldap_dir.server(), auto_bind=True)
    anonymous.search(BASE, "(uid=alice)")
    assert anonymous.entries == []
    anonymous.unbind()


def test_group_helpers(ldap_dir):
    ldap_dir.add_to_group("portal-admins", "dave")
    assert members(ldap_dir, "portal-admins") == [user_dn("carol"), user_dn("dave")]
    ldap_dir.remove_from_group("portal-admins", "carol")
    assert members(ldap_dir, "portal-admins") == [user_dn("dave")]
    ldap_dir.remove_from_group("mail-admins", "bob")  # the last member
    assert members(ldap_dir, "mail-admins") == [EMPTY_MEMBER]
    ldap_dir.add_to_group("mail-admins", "alice")
    assert members(ldap_dir, "mail-admins") == [user_dn("alice")]
    ldap_dir.add_to_group("blue-agents", "dave")
    ldap_dir.remove_from_group("blue-agents", "bob")
    assert members(ldap_dir, "blue-agents") == ["dave"]
    ldap_dir.add_group("blue-admins", ["carol"])
    assert members(ldap_dir, "blue-admins") == [user_dn("carol")]


def test_seed_is_restored_between_tests(ldap_dir):
    """Runs after test_group_helpers (and catches direct ldap3 writes too)."""
    assert members(ldap_dir, "portal-admins") == [user_dn("carol")]
    assert members(ldap_dir, "blue-agents") == ["bob"]
    with ldap_dir.admin_connection() as conn:
        conn.modify(user_dn("dave"), {"mail": [("MODIFY_REPLACE", ["d@example.com"])]})
    assert not ldap_dir.dirty
    ldap_dir.reset()
    with ldap_dir.service_connection() as conn:
        conn.search(PEOPLE, "(uid=dave)", attributes=["mail"])
        assert conn.entries[0].mail.value == "dave@example.com"


def test_user_helpers(ldap_dir):
    ldap_dir.set_password("bob", "bob-pass-2")
    assert not ldap_dir.can_bind("bob", "bob-pass-1")
    assert ldap_dir.can_bind("bob", "bob-pass-2")
    ldap_dir.delete_user("carol")
    assert not ldap_dir.can_bind("carol", "carol-pass-1")
    ldap_dir.add_user("erin", "erin-pass-1", cn="Erin Wu", mail="erin@example.com")
    assert ldap_dir.can_bind("erin", "erin-pass-1")


def test_disable_user_refuses_the_bind(ldap_dir):
    for _ in range(6):  # failures never lock an account by themselves
        assert not ldap_dir.can_bind("dave", "wrong")
    assert ldap_dir.can_bind("dave", "dave-pass-1")
    ldap_dir.disable_user("dave")
    with pytest.raises(LDAPBindError, match="invalidCredentials"):
        ldap_dir.user_connection("dave", "dave-pass-1")
    ldap_dir.enable_user("dave")
    assert ldap_dir.can_bind("dave", "dave-pass-1")


def test_stop_fails_fast_and_start_comes_back(ldap_dir):
    ldap_dir.stop()
    started = time.monotonic()
    with pytest.raises(LDAPException):
        ldap_dir.user_connection("alice", "alice-pass-1")
    assert time.monotonic() - started < 1
    ldap_dir.start()
    assert ldap_dir.can_bind("alice", "alice-pass-1")
    ldap_dir.stop()  # ldap_dir starts it again for the next test


def test_freeze_makes_requests_time_out(ldap_dir):
    with ldap_dir.service_connection(timeout=1) as conn:
        ldap_dir.freeze()
        started = time.monotonic()
        with pytest.raises(LDAPException):
            conn.search(PEOPLE, "(uid=alice)")
        assert 0.9 < time.monotonic() - started < 3
    ldap_dir.thaw()
    assert ldap_dir.can_bind("alice", "alice-pass-1")
    ldap_dir.freeze()  # ldap_dir thaws it for the next test


def test_ldap_config(ldap_config, ldap_dir):
    assert ldap_dir.running
    assert ldap_config["LDAP_URL"] == ldap_dir.url
    assert ldap_config["LDAP_URL"].startswith("ldap://127.0.0.1:")
    assert ldap_config["LDAP_STARTTLS"] is False
    assert ldap_config["LDAP_USER_FILTER"] is None
    with ldap_dir.connection(ldap_config["LDAP_BIND_DN"],
                             ldap_config["LDAP_BIND_PASSWORD"]) as conn:
        conn.search(ldap_config["LDAP_ADMIN_GROUP"], "(objectClass=groupOfNames)",
                    search_scope="BASE", attributes=["member"])
        assert conn.entries[0].member.values == [user_dn("carol")]
    with open(ldap_config["LDAP_CA_FILE"]) as ca:
        assert "BEGIN CERTIFICATE" in ca.read()
