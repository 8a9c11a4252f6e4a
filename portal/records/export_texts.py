"""What the export writes in the reader's language and zone, worked out once per export
(not once per row): the CSV header, the status words and the diagnoses' texts."""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from flask_babel import gettext

from portal.i18n import zones
from portal.i18n.formatting import zone_offset
from portal.i18n.labels import STATUS, status_label
from portal.i18n.marks import N_
from portal.mail.diagnosis import describe

# Excel on (Chinese) Windows opens a CSV as UTF-8 only when it starts with this mark.
BOM = "\ufeff"
# The CSV header of each ``export.FIELDS`` entry; %(zone)s names the reader's zone.
HEADER = (N_("ID"), N_("Send time (%(zone)s)"), N_("Send time (UTC, ISO 8601)"),
          N_("Delivered (%(zone)s)"), N_("Delivered (UTC, ISO 8601)"), N_("Send result"),
          N_("Reply code"), N_("Server's reply"), N_("Sender"), N_("Sender address"), N_("To"),
          N_("Cc"), N_("Bcc"), N_("Subject"), N_("Template"), N_("About"), N_("IP address"),
          N_("Triggered by"), N_("Attempts"), N_("Message-ID"), N_("Diagnosis"),
          N_("Not accepted"), N_("Attachments"))
# Distinct diagnoses remembered at most per export: memory stays bounded.
DESCRIBED_MAX = 10_000


def zone_name(zone) -> str:
    """The reader's zone for a header: its offset ("UTC+8") when that is the same all year,
    else its name ("Europe/London"), as rows from summer and winter differ."""
    year = datetime.now(UTC).year
    offsets = {datetime(year, month, 1, tzinfo=zone).utcoffset() for month in (1, 7)}
    return zone_offset() if len(offsets) == 1 else zone.key


def cached_describe() -> Callable[[str], str]:
    """``describe`` that works each distinct stored diagnosis out once."""
    cache: dict = {"": ""}

    def text(stored: str) -> str:
        found = cache.get(stored)
        if found is None:
            if len(cache) >= DESCRIBED_MAX:
                cache.clear()
            found = cache[stored] = describe(stored) or ""
        return found

    return text


@dataclass
class ExportTexts:
    header: tuple
    statuses: dict
    zone: str
    describe: Callable = field(default_factory=cached_describe)

    @classmethod
    def for_reader(cls) -> "ExportTexts":
        """The texts in the current request's language and zone."""
        zone = zones.current_zone()
        name = zone_name(zone)
        header = tuple(gettext(text, zone=name) if "%(zone)s" in text else gettext(text)
                       for text in HEADER)
        return cls(header=header, statuses={key: status_label(key) for key in STATUS},
                   zone=zone.key)
