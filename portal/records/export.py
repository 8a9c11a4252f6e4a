"""CSV and JSON-lines export of exactly the filtered records, streamed in constant memory.

A year of mail is a million rows, so the export avoids per-value Python work:

- ``COLUMNS`` selects only the exported columns, with times already turned into ISO 8601
  text and missing texts into "" by the database (``IsoUtc``), and the JSON columns as
  their stored text;
- rows arrive in bounded batches (``service.stream_rows``); each batch is decoded by one
  comprehension (``_decoded``) and becomes one chunk: ``csv.writer.writerows`` into a reused
  buffer, or one join of JSON lines built from a fixed template.

The output is the same as formatting each message's fields one by one: the column
order in ``FIELDS``, CSV formula neutralising, ``json.dumps`` text.

The CSV is for people: a byte-order mark first (Excel on Chinese Windows reads UTF-8 only
then), headers, results and diagnoses in the reader's language (``ExportTexts``: worked
out once per export, diagnoses once per distinct stored value), and each time both in the
reader's zone and as ISO 8601 UTC. JSON lines are for programs: the keys in ``KEYS`` never
change, status is the stored value, times are ISO 8601 UTC plus ``*_local`` in ``timezone``.
"""

import csv
import io
import json
import re
from json.encoder import encode_basestring as _quote

from sqlalchemy import Text, cast, func
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import String

from portal.outbox.models import Message
from portal.records.export_texts import BOM, ExportTexts
from portal.records.localtime import local_text

# The fields of one exported row, in the order of ``columns()`` and of the CSV.
FIELDS = ("id", "created_local", "created_at", "sent_local", "sent_at", "status", "reply_code",
          "reply_text", "sender_name", "sender_address", "to", "cc", "bcc", "subject",
          "template", "resource", "client_ip", "triggered_by", "attempts", "message_id",
          "diagnosis", "not_accepted", "attachments")
# The JSON-lines keys, in their order (stable: programs read them).
KEYS = ("id", "created_at", "sent_at", "status", "reply_code", "reply_text", "sender_name",
        "sender_address", "to", "cc", "bcc", "subject", "template", "resource", "client_ip",
        "triggered_by", "attempts", "message_id", "diagnosis", "not_accepted", "attachments",
        "created_local", "sent_local", "timezone")


class IsoUtc(FunctionElement):
    """A stored UTC time as ``datetime.isoformat()`` writes it (``2026-03-10T12:00:00+00:00``,
    with ``.ffffff`` only when there are microseconds), or '' when NULL; the database does
    it, per dialect, so a million rows need no datetime objects."""

    type = String()
    name = "iso_utc"
    inherit_cache = True


@compiles(IsoUtc, "sqlite")
def _iso_utc_sqlite(element, compiler, **kw):
    """SQLAlchemy stores ``YYYY-MM-DD HH:MM:SS.ffffff`` (naive UTC) on SQLite."""
    x = compiler.process(next(iter(element.clauses)), **kw)
    return (f"COALESCE(substr({x}, 1, 10) || 'T' || CASE WHEN substr({x}, 20) IN "
            f"('', '.000000') THEN substr({x}, 12, 8) ELSE substr({x}, 12) END "
            f"|| '+00:00', '')")


@compiles(IsoUtc, "postgresql")
def _iso_utc_postgresql(element, compiler, **kw):
    utc = f"({compiler.process(next(iter(element.clauses)), **kw)} AT TIME ZONE 'UTC')"
    return (f"COALESCE(to_char({utc}, 'YYYY-MM-DD\"T\"HH24:MI:SS') || CASE WHEN "
            f"to_char({utc}, 'US') = '000000' THEN '' ELSE to_char({utc}, '.US') END "
            f"|| '+00:00', '')")


def _blank(column):
    """A text column with NULL as "" (what the export writes for a missing value)."""
    return func.coalesce(column, "")


def _stored(json_column):
    """A JSON column as the text it is stored as (decoded here only when needed)."""
    return func.coalesce(cast(json_column, Text), "[]")


def columns(dialect: str, zone, spans) -> tuple:
    """One SQL column per ``FIELDS`` entry, in its order; local times are worked out by the
    database (``localtime.local_text``; ``spans`` must cover the times, SQLite only)."""
    return (
        Message.id, local_text(dialect, Message.created_at, zone, spans),
        IsoUtc(Message.created_at), local_text(dialect, Message.sent_at, zone, spans),
        IsoUtc(Message.sent_at), Message.status, Message.reply_code, _blank(Message.reply_text),
        Message.sender_name, Message.sender_address, _stored(Message.to_addrs),
        _stored(Message.cc_addrs), _stored(Message.bcc_addrs), Message.subject,
        _blank(Message.template_name), _blank(Message.resource), _blank(Message.client_ip),
        _blank(Message.triggered_by), Message.attempt_count, _blank(Message.message_id),
        _blank(Message.diagnosis), _stored(Message.recipient_results),
        _stored(Message.attachments),
    )


def refused_summary(results) -> str:
    """Recipients the server refused or that are still pending or in doubt, with replies:
    ``gone@corp.example (refused: 550 5.1.1 ...)``."""
    return "; ".join(
        f"{entry['address']} ({entry['state']}: {entry['code'] or ''} {entry['text'] or ''})"
        .replace(": )", ")").replace("  ", " ")
        for entry in results or () if entry["state"] != "accepted")


def _addresses(stored: str) -> str:
    """A stored JSON list of addresses as ``a, b``. Without a backslash every ``"`` in
    JSON text delimits a string, so the strings are every other piece between quotes;
    anything escaped goes through the JSON parser."""
    if "\\" in stored:
        return ", ".join(json.loads(stored) or ())
    return ", ".join(stored.split('"')[1::2])


def _not_accepted(stored: str) -> str:
    """``refused_summary`` of the stored recipient results, without parsing them when every
    ``"state"`` is followed by ``"accepted"`` (the usual case; any other text, spacing or
    escape takes the parser, so the shortcut never changes the result)."""
    if "\\" not in stored and stored.count('"state"') == stored.count('"state": "accepted"'):
        return ""
    return refused_summary(json.loads(stored))


def _file_names(stored: str) -> str:
    """The names of a message's attachments as ``a.pdf; b.xlsx`` ("" without any)."""
    if stored in ("[]", "null", ""):
        return ""
    return "; ".join(item["filename"] for item in json.loads(stored) or ())


def _decoded(batch, statuses: dict, describe) -> list[tuple]:
    """The exported values of a batch of ``columns()`` rows, in ``FIELDS`` order, with each
    status looked up in ``statuses`` (kept when absent) and each diagnosis ``describe``d."""
    get = statuses.get
    return [(pk, created_local, created, sent_local, sent, get(status, status), code or "",
             reply, name, address, _addresses(to), "" if cc == "[]" else _addresses(cc),
             "" if bcc == "[]" else _addresses(bcc), subject, template, resource, ip, trigger,
             attempts, mid, describe(diagnosis), _not_accepted(results), _file_names(files))
            for (pk, created_local, created, sent_local, sent, status, code, reply, name,
                 address, to, cc, bcc, subject, template, resource, ip, trigger, attempts, mid,
                 diagnosis, results, files) in batch]


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# A CSV field after the first (an id, never text) that starts with one of those: a comma,
# then the character, unquoted or quoted (a field with "\r" always is quoted; an unquoted
# "\r" ends the line). A match inside a quoted field is a false alarm that only costs a
# second pass. (Starting with the literal comma keeps the search fast.)
_RISKY_FIELD = re.compile(r',(?:"?[=+\-@\t]|"\r)')


def neutralise(value):
    """Text a spreadsheet would run as a formula gets a leading apostrophe."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _csv_chunk(rows: list[tuple], buffer: io.StringIO, writer) -> str:
    """The rows as CSV text. Each batch is written as is, and written again with every
    value neutralised only when some field may start like a formula."""
    writer.writerows(rows)
    text = buffer.getvalue()
    if _RISKY_FIELD.search(text):
        buffer.seek(0)
        buffer.truncate()
        writer.writerows([[neutralise(value) for value in row] for row in rows])
        text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text


def csv_lines(batches, texts: ExportTexts):
    """A byte-order mark and the header, then the CSV lines of each batch of ``columns()``
    rows (as ``service.stream_rows`` yields them) as one chunk."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(texts.header)
    header = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    yield BOM + header
    for batch in batches:
        yield _csv_chunk(_decoded(batch, texts.statuses, texts.describe), buffer, writer)


# json.dumps(dict(zip(KEYS, values)), ensure_ascii=False) for the types each column has.
_JSON_LINE = "{" + ", ".join(f'"{name}": %s' for name in KEYS) + "}\n"


def _json(value) -> str:
    """A value that is not always text (ids, reply codes, attempt counts) as JSON."""
    return json.dumps(value)


def json_lines(batches, texts: ExportTexts):
    """One JSON object per line with the keys in ``KEYS``; a chunk per batch."""
    line, zone = _JSON_LINE, _quote(texts.zone)
    for batch in batches:
        yield "".join([line % (
            pk, _quote(created), _quote(sent), _quote(status),
            code if code.__class__ is int else _json(code), _quote(reply), _quote(name),
            _quote(address), _quote(to), _quote(cc), _quote(bcc), _quote(subject),
            _quote(template), _quote(resource), _quote(ip), _quote(trigger),
            attempts if attempts.__class__ is int else _json(attempts), _quote(mid),
            _quote(diagnosis), _quote(not_accepted), _quote(files), _quote(created_local),
            _quote(sent_local), zone)
            for (pk, created_local, created, sent_local, sent, status, code, reply, name,
                 address, to, cc, bcc, subject, template, resource, ip, trigger, attempts, mid,
                 diagnosis, not_accepted, files) in _decoded(batch, {}, texts.describe)])
