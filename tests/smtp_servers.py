"""Real SMTP servers (aiosmtpd) on 127.0.0.1 for the tests."""
