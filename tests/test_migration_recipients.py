"""The per-recipient migration on a database that holds mail, on SQLite and PostgreSQL."""

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import text

from portal import create_app
from portal.extensions import db
from portal.outbox.lifecycle import recipients_of
from portal.outbox.models import Message
from tests.conftest import _base_config, backend

BEFORE = "88f312d5fc22"
LEGACY = ("INSERT INTO messages (sender_name, sender_address, sender_reason, subject, "
          "html_body, mode, status, attempt_count, to_addrs, cc_addrs, bcc_addrs, "
          "recipients_search, reply_code, reply_text, created_at) VALUES ('Relay', "
          "'relay@example.com', 'explicit', :subject, '<p>x</p>', 'deferred', :status, 1, "
          ":to, '[]', '[]', '', :code, :reply, CURRENT_TIMESTAMP)")


@pytest.fixture
def migrated_app(request, tmp_path):
    if backend() == "postgresql":
        url = request.getfixturevalue("pg_cluster").create_database("portal_migration")
    else:
        url = f"sqlite:///{tmp_path / 'migration.sqlite'}"
    app = create_app(_base_config(url))
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def test_old_mail_keeps_its_outcome_per_recipient_and_downgrade_keeps_rows(migrated_app):
    with migrated_app.app_context():
        upgrade(revision=BEFORE)
        for subject, status, code, reply in (("old sent", "sent", 250, "2.0.0 Ok"),
                                             ("old failed", "failed", 550, "5.1.1 User unknown"),
                                             ("old queued", "queued", None, None)):
            db.session.execute(text(LEGACY), {"subject": subject, "status": status,
                                              "to": '["a@corp.local", "b@corp.local"]',
                                              "code": code, "reply": reply})
        db.session.commit()
        db.session.remove()
        upgrade()
        found = {m.subject: m for m in db.session.scalars(db.select(Message))}
        assert {e["state"] for e in recipients_of(found["old sent"])} == {"accepted"}
        failed = recipients_of(found["old failed"])
        assert [(e["state"], e["code"], e["text"]) for e in failed] == [
            ("refused", 550, "5.1.1 User unknown")] * 2
        assert {e["state"] for e in recipients_of(found["old queued"])} == {"pending"}
        assert found["old queued"].attempts_base == 0
        # a partially delivered message goes back as "sent": retrying it as "failed"
        # would send it again to those who have it
        found["old sent"].status = "partial"
        db.session.commit()
        db.session.remove()
        downgrade(revision=BEFORE)
        statuses = dict(db.session.execute(text("SELECT subject, status FROM messages")).all())
        assert statuses == {"old sent": "sent", "old failed": "failed", "old queued": "queued"}
        db.session.remove()  # a reading session's lock would hold up the migration
        upgrade()  # and up again: the triggers and indexes are made anew
        assert db.session.scalar(text("SELECT count(*) FROM messages")) == 3
