"""Diagnoses stored as codes and rendered in the reader's language; the test mail in the
sender's language; the migration of diagnoses stored as English prose.

The Chinese assertions need the merged catalogs (portal/translations): they read
Chinese only after the lead merged the part files of helper h2.
"""

from __future__ import annotations

import json
import re

import pytest
from flask_babel import force_locale
from flask_migrate import downgrade, upgrade
from sqlalchemy import text

from portal import create_app
from portal.auth.models import User
from portal.extensions import db
from portal.mail import diagnosis
from portal.mail.diagnosis import describe, describe_english, explain
from portal.mail.diagnosis_legacy import parse
from portal.mail.diagnosis_texts import TEXTS
from portal.mail.errors import DeliveryError, from_reply, refused_error
from portal.mail.testmail import build_test_mail
from portal.outbox.models import Message
from tests.conftest import HX, _base_config, backend, login
from tests.sender_helpers import AUTH, sender_form

LOCALES = ("en", "zh_Hans_CN", "zh_Hant_TW")
CJK = re.compile(r"[\u4e00-\u9fff]")
REPLY = "5.7.1 Something\n  (odd) happened"
SHOWN = "554 5.7.1 Something (odd) happened"


def _stored(err, **flags) -> str:
    return diagnosis.store([diagnosis.error_part(err, **flags)])


def _read(app, stored, locale) -> str:
    with app.test_request_context(), force_locale(locale):
        return describe(stored)


# Every code the column can hold, with the words each language must use.
SPECIAL = {
    "in_doubt": (diagnosis.in_doubt_part("data"), "may or may not", "可能已送达", "可能已送達"),
    "recipients_accepted": (diagnosis.accepted_part(2, 3), "2 of 3 recipients accepted",
                            "3 个收件人中已接受 2 个", "3 個收件人中已接受 2 個"),
    "sender_paused": (diagnosis.paused_part(DeliveryError("auth", "auth_failed", "no",
                                                          code=535)),
                      "Waiting: the sender could not log in", "发件人无法登录",
                      "發件人無法登入"),
}


@pytest.mark.parametrize("code", sorted(TEXTS))
def test_each_error_code_renders_in_every_language(app, code):
    stored = _stored(DeliveryError("data", code, REPLY, code=554, kind="permanent"))
    assert json.loads(stored)[0]["code"] == code
    english, simplified, traditional = (_read(app, stored, loc) for loc in LOCALES)
    cause, advice = TEXTS[code]
    assert english == f"{cause % {'reply': SHOWN}} {advice}"
    for chinese in (simplified, traditional):
        assert CJK.search(chinese) and SHOWN in chinese  # the reply as the server said it
        assert "The server" not in chinese and "。" in chinese
    assert simplified != traditional


@pytest.mark.parametrize("code", sorted(SPECIAL))
def test_each_other_code_renders_in_every_language(app, code):
    part, en_words, hans_words, hant_words = SPECIAL[code]
    stored = diagnosis.store([part])
    assert en_words in _read(app, stored, "en")
    assert hans_words in _read(app, stored, "zh_Hans_CN")
    assert hant_words in _read(app, stored, "zh_Hant_TW")


def test_login_refusal_names_the_authorization_code_in_chinese(app):
    stored = _stored(from_reply("auth", 535, "5.7.8 Error: authentication failed"))
    assert "authorization code" in _read(app, stored, "en")
    assert "授权码" in _read(app, stored, "zh_Hans_CN")
    assert "授權碼" in _read(app, stored, "zh_Hant_TW")
    assert "535 5.7.8 Error: authentication failed" in _read(app, stored, "zh_Hant_TW")


def test_retry_wording_and_refused_recipients_in_chinese(app):
    refused = {f"r{i}@corp.example": (452, "4.2.2 Mailbox full") for i in range(5)}
    stored = _stored(refused_error(refused), final=True, attempts=3)
    english = _read(app, stored, "en")
    assert "and 2 more." in english and "Gave up after 3 attempts:" in english
    simplified = _read(app, stored, "zh_Hans_CN")
    assert "r0@corp.example (452)" in simplified and "另有 2 个" in simplified
    assert "尝试 3 次后已放弃" in simplified
    assert "系统会自动重试" in _read(app, _stored(refused_error(refused)), "zh_Hans_CN")


def test_same_record_reads_english_for_one_admin_and_chinese_for_another(
        app, client, world, make_user):
    make_user("lin", system_admin=True)
    with app.app_context():
        db.session.get(User, world["root"]).locale = "en"
        db.session.scalar(db.select(User).filter_by(username="lin")).locale = "zh_Hans_CN"
        message = Message(sender_name="R", sender_address="r@example.com",
                          sender_reason="explicit", subject="Report", mode="immediate",
                          status="failed",
                          diagnosis=_stored(from_reply("auth", 535, "5.7.8 Bad credentials")))
        message.set_recipients(["a@example.org"])
        db.session.add(message)
        db.session.commit()
        pk = message.id
    login(client, "root")
    english = client.get(f"/messages/{pk}").get_data(as_text=True)
    assert "The server refused the login (535 5.7.8 Bad credentials)." in english
    client.post("/logout")
    login(client, "lin")
    chinese = client.get(f"/messages/{pk}").get_data(as_text=True)
    assert "服务器拒绝了登录（535 5.7.8 Bad credentials）。" in chinese
    assert "授权码" in chinese and "auth_failed" not in chinese


def test_reply_is_stored_verbatim_and_folded_only_when_shown(app):
    stored = _stored(DeliveryError("rcpt", "recipient_rejected", REPLY, code=550))
    [part] = json.loads(stored)
    assert part == {"code": "recipient_rejected", "step": "rcpt", "reply": REPLY,
                    "reply_code": 550}
    assert "(550 5.7.1 Something (odd) happened)" in _read(app, stored, "en")


def test_structured_cause_and_advice_and_legacy_text(app):
    stored = diagnosis.store([diagnosis.accepted_part(1, 2), diagnosis.error_part(
        from_reply("rcpt", 550, "5.1.1 No such user"))])
    with app.test_request_context():
        count, refusal = explain(stored)
        assert (count.cause, count.advice) == ("1 of 2 recipients accepted.", "")
        assert refusal.cause.startswith("The server refused the recipient address")
        assert describe("Some old text (kept).") == "Some old text (kept)."
        assert describe("[not json") == "[not json" and describe(None) == ""
        assert describe('[{"no": "code"}]') == '[{"no": "code"}]'


def test_check_panel_reads_chinese_for_a_chinese_admin(client, world, smtpd_factory):
    server = smtpd_factory("starttls", auth=AUTH)
    login(client, "root")
    data = sender_form(server, password="wrong", action="connection")
    body = client.post("/senders/check", data=data,
                       headers={**HX, "Accept-Language": "zh-TW"}).get_data(as_text=True)
    assert "連線失敗" in body and "授權碼" in body and "原因：" in body


@pytest.mark.parametrize(("locale", "words"), [
    ("en", "Congratulations! Your mail server is configured successfully."),
    ("zh_Hans_CN", "恭喜您！您的邮件服务器已经配置成功。"),
    ("zh_Hant_TW", "恭喜您！您的郵件伺服器已經配置成功。"),
])
def test_test_mail_in_the_senders_language_never_says_test(app, locale, words):
    with app.test_request_context(), force_locale(locale):
        msg = build_test_mail("ops@example.com", "报表系统", "alice@example.org",
                              sent_at="2026-12-01 10:00:00 UTC+8")
    subject = str(msg["Subject"])
    assert "test" not in subject.lower() and "测试" not in subject and "測試" not in subject
    html = msg.get_body(("html",)).get_content()
    assert words in html and "<strong>ops@example.com</strong>" in html
    assert "2026-12-01 10:00:00 UTC+8" in html
    if locale != "en":
        assert CJK.search(subject)


# -- the migration of English prose ------------------------------------------------------

BEFORE = "b2d4f6a8c0e1"
OLD_ROW = ("INSERT INTO messages (sender_name, sender_address, sender_reason, subject, "
           "html_body, mode, status, attempt_count, to_addrs, cc_addrs, bcc_addrs, "
           "recipients_search, recipient_results, attempts_base, diagnosis, created_at) "
           "VALUES ('Relay', 'relay@example.com', 'explicit', :subject, '<p>x</p>', "
           "'deferred', 'failed', 1, '[\"a@corp.local\"]', '[]', '[]', '', '[]', 0, "
           ":diagnosis, CURRENT_TIMESTAMP)")
OLD_ATTEMPT = ("INSERT INTO attempts (message_pk, number, started_at, finished_at, outcome, "
               "diagnosis) VALUES (:pk, 1, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, 'failed', "
               ":diagnosis)")
OLD_TEXTS = {
    # written by the portal before diagnoses were codes
    "login": "The server refused the login (535 5.7.8 Error: authentication failed: "
             "UGFzc3dvcmQ6). Check the username and password. QQ, 163, Tencent Exmail and "
             "Outlook need an authorization code or app password instead of the login "
             "password.",
    "partial": "1 of 2 recipients accepted. The server refused the recipient address (550 "
               "5.1.1 <gone@corp.example>: User unknown). Recipients not accepted: "
               "gone@corp.example (550). Check the recipient address for typos; the mailbox "
               "may not exist.",
    "gave up": "The portal cannot reach the mail server (smtp.corp.example:587: Connection "
               "refused). Gave up after 5 attempts: it is not sent again unless retried by "
               "hand. Check the host name and the port, the firewall, and whether the portal "
               "has outside network access.",
    "starttls": "The server does not offer STARTTLS. Choose SSL (usually port 465) if the "
                "server offers it, or ask the mail server's admin to enable STARTTLS. Without "
                "encryption the password and the mail cross the network readable.",
    "paused": "Waiting: the sender could not log in (auth failed (auth_failed): 535 5.7.8 "
              "Error: authentication failed).",
    "in doubt": "The connection broke after the message was handed over, before the server "
                "confirmed it, so it may or may not have arrived. It is not resent "
                "automatically. Check with the recipients whether it arrived; a manual retry "
                "may deliver a second copy.",
    "legacy": "Something an admin typed by hand (not a known wording).",
}


@pytest.fixture
def migration_app(request, tmp_path):
    if backend() == "postgresql":
        url = request.getfixturevalue("pg_cluster").create_database("portal_diagnosis")
    else:
        url = f"sqlite:///{tmp_path / 'diagnosis.sqlite'}"
    app = create_app(_base_config(url))
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def test_old_english_diagnoses_become_codes_and_downgrade_writes_english(migration_app):
    with migration_app.app_context():
        upgrade(revision=BEFORE)
        for subject, old in OLD_TEXTS.items():
            db.session.execute(text(OLD_ROW), {"subject": subject, "diagnosis": old})
        pk = db.session.scalar(text("SELECT id FROM messages WHERE subject = 'login'"))
        db.session.execute(text(OLD_ATTEMPT), {"pk": pk, "diagnosis": OLD_TEXTS["login"]})
        db.session.commit()
        db.session.remove()
        upgrade()
        stored = dict(db.session.execute(text("SELECT subject, diagnosis FROM messages")).all())
        codes = {subject: [part["code"] for part in json.loads(value)]
                 for subject, value in stored.items()}
        assert codes == {"login": ["auth_failed"], "partial": ["recipients_accepted",
                                                               "recipient_rejected"],
                         "gave up": ["unreachable"], "starttls": ["starttls_unsupported"],
                         "paused": ["sender_paused"], "in doubt": ["in_doubt"],
                         "legacy": ["legacy"]}
        login_part = json.loads(stored["login"])[0]
        assert (login_part["reply_code"], login_part["reply"]) == (
            535, "5.7.8 Error: authentication failed: UGFzc3dvcmQ6")
        assert json.loads(stored["gave up"])[0]["attempts"] == 5
        for subject, value in stored.items():  # reads exactly as before in English
            assert describe_english(value) == OLD_TEXTS[subject]
        attempt = db.session.scalar(text("SELECT diagnosis FROM attempts"))
        assert json.loads(attempt)[0]["code"] == "auth_failed"
        db.session.remove()
        upgrade()  # already codes: a second run changes nothing
        assert dict(db.session.execute(
            text("SELECT subject, diagnosis FROM messages")).all()) == stored
        db.session.remove()
        downgrade(revision=BEFORE)
        back = dict(db.session.execute(text("SELECT subject, diagnosis FROM messages")).all())
        assert back == OLD_TEXTS
        assert db.session.scalar(text("SELECT diagnosis FROM attempts")) == OLD_TEXTS["login"]


def test_every_english_wording_reads_back_as_the_same_parts():
    errors = [DeliveryError(step, reason, "5.7.1 Odd (x).", code=554)
              for reason in TEXTS for step in ("data", "rcpt", "auth", "connect")]
    errors += [from_reply("auth", 454, "4.7.0 later"), DeliveryError("connect", "unreachable", "")]
    for err in errors:
        for flags in ({}, {"final": True, "attempts": 1}, {"final": True}, {"retrying": False}):
            stored = diagnosis.store([diagnosis.accepted_part(1, 3),
                                      diagnosis.error_part(err, **flags)])
            english = describe_english(stored)
            assert describe_english(diagnosis.store(parse(english))) == english
            assert "legacy" not in {part["code"] for part in parse(english)}


def test_the_portals_own_words_are_translated_but_a_servers_reply_never(app):
    from portal.mail.diagnosis_texts import NOT_ENCRYPTED

    ours = _stored(DeliveryError("auth", "plain_auth_refused", NOT_ENCRYPTED))
    assert f"({NOT_ENCRYPTED})" in _read(app, ours, "en")
    assert "（连接未加密，因此没有发送密码）" in _read(app, ours, "zh_Hans_CN")
    theirs = _stored(DeliveryError("data", "protocol", NOT_ENCRYPTED, code=554))
    assert NOT_ENCRYPTED in _read(app, theirs, "zh_Hans_CN")  # a server's reply: verbatim
    empty = _stored(DeliveryError("connect", "unreachable", "", kind="permanent"))
    assert "(no details)" in _read(app, empty, "en")
    assert "无详细信息" in _read(app, empty, "zh_Hans_CN")


@pytest.mark.parametrize("stored", [
    '[{"code": "recipients_accepted", "accepted": "abc", "total": 2}]',
    '[{"code": "auth_failed", "reply": "x", "attempts": "x", "transient": true}]',
    '[{"code": "recipient_rejected", "step": [1], "reply": "x"}]',
    '[{"code": "recipient_rejected", "reply": "x", "refused": [["a"]]}]'])
def test_a_malformed_part_never_raises(app, stored):
    """Shown as well as its parameters allow, else as stored: never a failed page."""
    from portal.mail.diagnosis import describe

    with app.test_request_context("/"):
        for locale in ("en", "zh_Hans_CN"):
            with force_locale(locale):
                assert describe(stored).strip()


def test_a_migrated_cause_without_its_reply_is_translated(app):
    from portal.mail.diagnosis import describe

    with app.test_request_context("/"), force_locale("zh_Hans_CN"):
        text = describe('[{"code": "starttls_unsupported"}]')
    assert "STARTTLS" in text and "The server" not in text and "%(reply)s" not in text
