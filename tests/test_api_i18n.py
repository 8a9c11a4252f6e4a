"""The API speaks the caller's language: the same bad request sent with Accept-Language
zh-CN, zh-TW or en gets the same ``code`` and ``field``, and a ``message`` in that
language; a message's diagnosis (``GET /api/v1/messages/<id>``) too.

The Chinese assertions read the merged catalogs in ``portal/translations``.
"""

import re

import pytest

from tests.outbox_helpers import AUTH

URL = "/api/v1/messages"
MAIL = {"to": "alice@example.org", "subject": "Monthly figures",
        "html": "<p>Figures attached.</p>"}
LANGUAGES = ("en", "zh-CN", "zh-TW")
HAN = re.compile(r"[\u4e00-\u9fff]")


def _headers(secret: str | None, language: str) -> dict:
    headers = {"Accept-Language": language}
    if secret:
        headers["Authorization"] = f"Bearer {secret}"
    return headers


def _errors(client, secret, body, status, **extra) -> dict[str, dict]:
    """The error of the same request in each language, checked for its status."""
    errors = {}
    for language in LANGUAGES:
        response = client.post(URL, json=body, headers={**_headers(secret, language), **extra})
        assert response.status_code == status, response.get_data(as_text=True)
        errors[language] = response.json["error"]
    return errors


def _same_code_three_languages(errors: dict[str, dict], code: str, field: str | None):
    for error in errors.values():
        assert error["code"] == code and error.get("field") == field
    english, simplified, traditional = (errors[lang]["message"] for lang in LANGUAGES)
    assert english and not HAN.search(english)
    assert HAN.search(simplified) and HAN.search(traditional)
    assert len({english, simplified, traditional}) == 3
    return english, simplified, traditional


@pytest.mark.parametrize("body, code, field", [
    ({**MAIL, "mode": "later"}, "invalid_mode", "mode"),
    ({**MAIL, "to": []}, "missing_recipient", "to"),
    ({**MAIL, "subjcet": "typo"}, "unknown_field", "subjcet"),
    ({**MAIL, "subject": 5}, "invalid_type", "subject"),
    ({**MAIL, "subject": "x" * 999}, "too_long", "subject"),
    ({**MAIL, "variables": ["not", "an", "object"]}, "invalid_type", "variables"),
])
def test_validation_errors_in_the_request_language(client, make_token, body, code, field):
    errors = _errors(client, make_token(), body, 422)
    english, simplified, traditional = _same_code_three_languages(errors, code, field)
    for message in (english, simplified, traditional):
        assert field in message  # the field's name is never translated


def test_unauthorized_in_the_request_language_with_glossary_terms(client):
    errors = _errors(client, None, MAIL, 401)
    english, simplified, traditional = _same_code_three_languages(errors, "unauthorized", None)
    for message in (english, simplified, traditional):
        assert "Authorization: Bearer TOKEN" in message  # code stays as it is
    assert "API 令牌" in simplified and "API 權杖" in traditional
    assert "令牌" not in traditional


def test_bad_json_and_idempotency_key_in_the_request_language(client, make_token):
    secret = make_token()
    errors = {}
    for language in LANGUAGES:
        response = client.post(URL, data="{", content_type="application/json",
                               headers=_headers(secret, language))
        assert response.status_code == 400
        errors[language] = response.json["error"]
    _same_code_three_languages(errors, "invalid_json", None)
    errors = _errors(client, secret, MAIL, 422, **{"Idempotency-Key": "has spaces"})
    _same_code_three_languages(errors, "invalid_idempotency_key", "Idempotency-Key")


def test_not_found_message_in_the_request_language(client, make_token):
    secret = make_token()
    errors = {lang: client.get(f"{URL}/999", headers=_headers(secret, lang)).json["error"]
              for lang in LANGUAGES}
    english, simplified, traditional = _same_code_three_languages(errors, "not_found", None)
    assert "999" in english and "999" in simplified and "999" in traditional
    assert "令牌" in simplified and "權杖" in traditional


def test_template_errors_in_the_request_language(app, client, relay, make_token):
    from portal.extensions import db
    from portal.templates_.models import MailTemplate

    with app.app_context():
        db.session.add(MailTemplate(name="Daily report", subject="Report for {{ day }}",
                                    html_body="<p>Hello {{ name }}</p>"))
        db.session.commit()
    body = {"to": "alice@example.org", "template": "Daily report",
            "variables": {"day": "Monday"}}
    errors = _errors(client, make_token(), body, 422)
    english, simplified, traditional = _same_code_three_languages(
        errors, "template_error", "html_body")
    assert english == ("The variable “name” is missing: supply it or remove it from the "
                       "HTML body.")
    assert "“name”" in simplified and "变量" in simplified and "HTML 正文" in simplified
    assert "「name」" in traditional and "變數" in traditional and "HTML 內文" in traditional
    assert relay.messages == []


def test_diagnosis_in_the_request_language(client, smtpd_factory, make_smtp_sender,
                                           make_token):
    server = smtpd_factory("plain", auth=AUTH, reply={"rcpt": "550 5.1.1 No such user"})
    make_smtp_sender(server, mode="immediate", is_default=True)
    secret = make_token()
    sent = client.post(URL, json=MAIL, headers=_headers(secret, "en"))
    assert sent.status_code == 200 and sent.json["status"] == "failed"
    details = {lang: client.get(f"{URL}/{sent.json['id']}", headers=_headers(secret, lang)).json
               for lang in LANGUAGES}
    for answer in details.values():
        assert answer["status"] == "failed" and answer["reply_code"] == 550
        assert "No such user" in answer["reply_text"]  # the server's reply stays verbatim
        [attempt] = answer["attempts"]
        assert attempt["diagnosis"] == answer["diagnosis"]
    english = details["en"]["diagnosis"]
    assert english and not HAN.search(english)
    assert english == sent.json["diagnosis"]
    for language in ("zh-CN", "zh-TW"):
        assert HAN.search(details[language]["diagnosis"])
    assert details["zh-CN"]["diagnosis"] != details["zh-TW"]["diagnosis"]
