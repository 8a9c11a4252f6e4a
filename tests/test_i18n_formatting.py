"""Times, offsets and numbers in the reader's zone and language (portal.i18n)."""

from datetime import UTC, date, datetime, timedelta

import pytest
from flask_babel import force_locale

from portal.i18n import compile_catalogs, formatting, zones


@pytest.fixture
def shanghai(app):
    app.config["DEFAULT_TIMEZONE"] = "Asia/Shanghai"
    with app.test_request_context("/"):
        yield


def test_a_late_utc_time_is_the_next_local_day(shanghai):
    late = datetime(2026, 11, 30, 23, 30, tzinfo=UTC)
    assert formatting.when(late) == "2026-12-01 07:30:00 UTC+8"
    assert formatting.short_when(late) == "12-01 07:30"
    assert zones.to_local(late).date() == date(2026, 12, 1)


def test_local_day_bounds_cover_the_whole_local_day(shanghai):
    assert zones.day_start(date(2026, 12, 1)) == datetime(2026, 11, 30, 16, 0, tzinfo=UTC)
    assert zones.day_end(date(2026, 12, 1)) == datetime(2026, 12, 1, 16, 0, tzinfo=UTC)


def test_offsets_are_named_with_daylight_saving(app):
    app.config["DEFAULT_TIMEZONE"] = "America/New_York"
    with app.test_request_context("/"):
        assert formatting.zone_offset(datetime(2026, 7, 1, tzinfo=UTC)) == "UTC-4"
        assert formatting.zone_offset(datetime(2026, 12, 1, tzinfo=UTC)) == "UTC-5"
    app.config["DEFAULT_TIMEZONE"] = "Asia/Kolkata"
    with app.test_request_context("/"):
        assert formatting.zone_offset() == "UTC+5:30"
    app.config["DEFAULT_TIMEZONE"] = "UTC"
    with app.test_request_context("/"):
        assert formatting.zone_offset() == "UTC"


def test_ago_and_numbers_follow_the_language(app):
    three_days = datetime.now(UTC) - timedelta(days=3, minutes=1)
    with app.test_request_context("/"):
        assert formatting.ago(three_days) == "3d ago"
        assert formatting.number(1234567) == "1,234,567"
        with force_locale("zh_Hans_CN"):
            assert formatting.ago(three_days) == "3天前"
            assert formatting.ago(datetime.now(UTC)) == "刚刚"
        with force_locale("zh_Hant_TW"):
            assert formatting.ago(datetime.now(UTC)) == "剛剛"


def test_status_names_are_translated_and_unknown_ones_kept(app):
    from portal.i18n.labels import status_label

    with app.test_request_context("/"):
        assert status_label("partial") == "partly sent"
        with force_locale("zh_Hans_CN"):
            assert status_label("sent") == "已发送"
        with force_locale("zh_Hant_TW"):
            assert status_label("queued") == "佇列中"
            assert status_label("odd") == "odd"


def test_invalid_defaults_stop_the_start():
    from portal import create_app

    for key, value in (("DEFAULT_LOCALE", "fr"), ("DEFAULT_TIMEZONE", "Mars/Olympus")):
        with pytest.raises(ValueError, match=key.replace("DEFAULT_", "PORTAL_DEFAULT_")):
            create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://",
                        "SECRET_KEY": "x", "ENCRYPTION_KEY": "y", key: value})


def test_catalogs_compile_when_stale(tmp_path):
    folder = tmp_path / "zh_Hans_CN" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    (folder / "messages.po").write_text('msgid "sent"\nmsgstr "已发送"\n', encoding="utf-8")
    assert compile_catalogs(tmp_path) == ["zh_Hans_CN"]
    assert (folder / "messages.mo").stat().st_size > 0
    assert compile_catalogs(tmp_path) == []


@pytest.mark.parametrize("name", ["localtime", "right/UTC", "posixrules", "Mars/Base", ""])
def test_only_real_zones_are_valid(name):
    assert zones.valid_zone(name) is None
    assert zones.valid_zone("Asia/Shanghai") == "Asia/Shanghai"


def test_a_stored_zone_that_is_not_valid_falls_back_to_the_default(app, client, world):
    from portal.auth.models import User
    from portal.extensions import db
    from tests.conftest import PASSWORD

    with app.app_context():
        user = db.session.get(User, world["root"])
        user.timezone = "localtime"
        db.session.commit()
    client.post("/login", data={"username": "root", "password": PASSWORD})
    for path in ("/records", "/profile", "/records/export.csv"):
        assert client.get(path).status_code == 200, path
