"""CSV and JSON-lines export of exactly the filtered records, streamed in constant memory."""

import csv
import io
import json

COLUMNS = [
    ("id", lambda m: m.id),
    ("created_at", lambda m: m.created_at.isoformat() if m.created_at else ""),
    ("sent_at", lambda m: m.sent_at.isoformat() if m.sent_at else ""),
    ("status", lambda m: m.status),
    ("reply_code", lambda m: m.reply_code or ""),
    ("reply_text", lambda m: m.reply_text or ""),
    ("sender_name", lambda m: m.sender_name),
    ("sender_address", lambda m: m.sender_address),
    ("to", lambda m: ", ".join(m.to_addrs or [])),
    ("cc", lambda m: ", ".join(m.cc_addrs or [])),
    ("bcc", lambda m: ", ".join(m.bcc_addrs or [])),
    ("subject", lambda m: m.subject),
    ("template", lambda m: m.template_name or ""),
    ("resource", lambda m: m.resource or ""),
    ("client_ip", lambda m: m.client_ip or ""),
    ("triggered_by", lambda m: m.triggered_by or ""),
    ("attempts", lambda m: m.attempt_count),
    ("message_id", lambda m: m.message_id or ""),
    ("diagnosis", lambda m: m.diagnosis or ""),
    ("not_accepted", lambda m: refused_summary(m.recipient_results)),
]
def refused_summary(results) -> str:
    """Recipients the server refused or that are still pending or in doubt, with replies:
    ``gone@corp.example (refused: 550 5.1.1 ...)``."""
    return "; ".join(
        f"{entry['address']} ({entry['state']}: {entry['code'] or ''} {entry['text'] or ''})"
        .replace(": )", ")").replace("  ", " ")
        for entry in results or () if entry["state"] != "accepted")


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value):
    """Text a spreadsheet would run as a formula gets a leading apostrophe."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def csv_lines(messages):
    """The header, then one CSV line per message; each chunk is yielded as it is written."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([name for name, _ in COLUMNS])
    for count, message in enumerate(messages, start=1):
        writer.writerow([neutralise(get(message)) for _, get in COLUMNS])
        if count % 200 == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def json_lines(messages):
    """One JSON object per line, with the same fields as the CSV."""
    for message in messages:
        yield json.dumps({name: get(message) for name, get in COLUMNS},
                         ensure_ascii=False) + "\n"
