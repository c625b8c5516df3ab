"""Schedule entries as iCalendar (RFC 5545), written with the ``icalendar`` library: what a phone's
calendar subscribes to."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from icalendar import Calendar, Event, vGeo

from engine.identity import Principal
from engine.schedule import Entry

BUSY = {"ko": "일정 있음", "en": "Busy"}


def as_icalendar(entries: Sequence[Entry], reader: Principal, now: datetime) -> bytes:
    """``entries`` as ``reader`` may see them; a private entry they may not read is only busy time."""
    calendar = Calendar()
    calendar.add("prodid", "-//cityflow//schedule//KO")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", f"{reader.display_name} 일정" if reader.locale == "ko"
                 else f"{reader.display_name}'s schedule")
    for entry in entries:
        event, item = entry.event, Event()
        item.add("uid", f"schedule-{event.id}@cityflow")
        item.add("dtstamp", now)
        item.add("dtstart", event.starts_at)
        item.add("dtend", event.ends_at)
        item.add("last-modified", event.updated_at)
        item.add("class", "PRIVATE" if event.private else "PUBLIC")
        if not entry.shown:
            item.add("summary", BUSY.get(reader.locale, BUSY["ko"]))
            calendar.add_component(item)
            continue
        item.add("summary", f"[{event.kind}] {event.title}")
        if event.place:
            item.add("location", event.place)
        if event.location:
            item.add("geo", vGeo((float(event.location["lat"]), float(event.location["lon"]))))
        details = [event.notes] if event.notes else []
        if event.guests:
            details.append(("참석: " if reader.locale == "ko" else "Guests: ") + ", ".join(event.guests))
        if details:
            item.add("description", "\n\n".join(details))
        item.add("categories", [event.kind])
        calendar.add_component(item)
    written: bytes = calendar.to_ical()
    return written
