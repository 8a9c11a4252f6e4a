"""Token endpoint failures as ``DeliveryError``s with a reason a person can act on.

Microsoft's answers carry an ``AADSTS`` number that says exactly what is wrong (the
tenant does not exist, the app is unknown, the secret is wrong or expired, consent is
missing, the refresh token was revoked); Google's say ``invalid_client`` or
``invalid_grant`` with a short description. Both are read here into the stable reasons
``portal.mail.diagnosis_texts`` words in plain language. The provider's own words stay
the quoted reply; no secret is ever part of them.
"""

from __future__ import annotations

import re

import requests

from portal.mail.errors import PERMANENT, TRANSIENT, DeliveryError

STEP = "token"
# AADSTS numbers by meaning (Microsoft Entra ID error codes).
_AADSTS = {
    "90002": "token_tenant_unknown",  # tenant not found
    "900023": "token_tenant_unknown",  # tenant identifier not valid
    "90013": "token_tenant_unknown",  # invalid tenant input
    "700016": "token_client_unknown",  # application not found in the directory
    "7000215": "token_secret_invalid",  # invalid client secret
    "7000222": "token_secret_expired",  # the client secret has expired
    "65001": "token_consent_missing",  # the user or admin has not consented
    "650057": "token_consent_missing",  # permission not configured for the app
    "500011": "token_consent_missing",  # resource principal (Exchange) not in tenant
    "70011": "token_scope_invalid",  # invalid scope
    "50173": "token_reconnect",  # grant expired after a password change
    "700082": "token_reconnect",  # refresh token expired from inactivity
    "70008": "token_reconnect",  # refresh token or code expired
    "50076": "token_reconnect",  # multi-factor sign-in required again
    "50079": "token_reconnect",
    "54005": "token_reconnect",  # authorization code already redeemed
}
_BY_ERROR = {
    "invalid_grant": "token_reconnect",
    "consent_required": "token_consent_missing",
    "interaction_required": "token_reconnect",
    "invalid_scope": "token_scope_invalid",
    "unauthorized_client": "token_consent_missing",
    "invalid_client": "token_secret_invalid",
}
_AADSTS_CODE = re.compile(r"AADSTS(\d+)")
_TRACE = re.compile(r"\s*(Trace ID|Correlation ID|Timestamp):.*", re.DOTALL)
TRANSIENT_TOKEN_REASONS = frozenset({"token_unreachable", "token_bad_reply"})


def token_error(kind: str, exc: BaseException | str) -> DeliveryError:
    """The DeliveryError for one failed token request.

    ``kind``: "request_failed" (the HTTP request did not get through), "refused" (the
    endpoint answered with an OAuth error or not with JSON), "no_token" (an answer
    without an access token) or "not_connected" (a delegated sender never signed in).
    """
    if kind == "not_connected":
        return DeliveryError(STEP, "token_not_connected",
                             "no account is connected to this sender", kind=PERMANENT)
    if kind == "no_token":
        return DeliveryError(STEP, "token_bad_reply",
                             "the token endpoint's answer holds no access token",
                             kind=TRANSIENT)
    if kind == "request_failed":
        return _request_failed(exc)
    return _refused(exc)


def _request_failed(exc) -> DeliveryError:
    if isinstance(exc, requests.HTTPError) and exc.response is not None:
        status = exc.response.status_code
        text = f"HTTP {status} {exc.response.reason or ''}".strip()
        if 300 <= status < 400:  # not followed: the secrets stay where they were sent
            text += " (a redirect, not followed: enter the final token URL)"
        return DeliveryError(STEP, "token_bad_reply", f"the token endpoint answered {text}",
                             kind=TRANSIENT if status >= 500 or status == 429 else PERMANENT)
    text = _first_line(exc) or type(exc).__name__
    return DeliveryError(STEP, "token_unreachable", text, kind=TRANSIENT)


def _refused(exc) -> DeliveryError:
    error = str(getattr(exc, "error", "") or "")
    description = _first_line(getattr(exc, "description", "") or "")
    if not error:  # not an OAuth error answer: HTML, plain text or an empty body
        return DeliveryError(STEP, "token_bad_reply", _first_line(exc) or
                             "the token endpoint did not answer with JSON", kind=TRANSIENT)
    return DeliveryError(STEP, reason_for(error, description),
                         f"{error}: {description}" if description else error, kind=PERMANENT)


def reason_for(error: str, description: str) -> str:
    """The reason for an OAuth ``error`` and its description (AADSTS numbers first)."""
    found = _AADSTS_CODE.search(description or "")
    if found and found.group(1) in _AADSTS:
        return _AADSTS[found.group(1)]
    lowered = (description or "").lower()
    if error == "invalid_client" and ("not found" in lowered or "does not exist" in lowered):
        return "token_client_unknown"
    if error == "invalid_request" and "tenant" in lowered:
        return "token_tenant_unknown"
    return _BY_ERROR.get(error, "token_refused")


def _first_line(value) -> str:
    text = _TRACE.sub("", str(value or "")).strip()
    return " ".join(text.split())[:300]
