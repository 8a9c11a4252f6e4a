"""gunicorn settings for the portal; PORTAL_BIND and PORTAL_WEB_WORKERS override."""

import os

bind = os.environ.get("PORTAL_BIND", "127.0.0.1:5000")
workers = int(os.environ.get("PORTAL_WEB_WORKERS", "2"))
threads = int(os.environ.get("PORTAL_WEB_THREADS", "4"))
# Immediate sends may take up to the SMTP timeout (15 s by default) per request.
timeout = int(os.environ.get("PORTAL_WEB_TIMEOUT", "60"))
accesslog = "-"
errorlog = "-"
# X-Forwarded-Proto is trusted only from a proxy the portal is told about
# (PORTAL_PROXY_COUNT > 0); without one, nobody may claim the request was HTTPS.
_behind_proxy = int(os.environ.get("PORTAL_PROXY_COUNT") or 0) > 0
forwarded_allow_ips = os.environ.get("PORTAL_FORWARDED_ALLOW_IPS",
                                     "127.0.0.1" if _behind_proxy else "")
