"""The mayor's schedule (단체장 일정): kept by the mayor and the 수행비서, read by everyone who works here
(a private entry only by those who keep it and the colleagues it names), every change recorded, and
each person's entries on their phone through an iCalendar feed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from icalendar import Calendar

from tests.api.conftest import Api

SEOUL = ZoneInfo("Asia/Seoul")


def tomorrow_at(hour: int, minute: int = 0) -> datetime:
    day = datetime.now(SEOUL).date() + timedelta(days=1)
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=SEOUL)


def entry(**changes: Any) -> dict[str, Any]:
    starts = tomorrow_at(10)
    return {"owner": "mayor", "kind": "회의", "title": "교통정책 현안 보고", "starts_at": starts.isoformat(),
            "ends_at": (starts + timedelta(hours=1)).isoformat(), "place": "시장실 소회의실",
            "attendees": ["traffic.chief"], "guests": ["시민교통연대 대표"], "notes": "버스노선 개편안", **changes}


def day_of(api: Api, username: str, owner: str = "mayor") -> list[dict[str, Any]]:
    starts = tomorrow_at(0)
    answer = api.call("GET", "/api/schedule", username, params={
        "owner": owner, "from": starts.isoformat(), "to": (starts + timedelta(days=1)).isoformat()})
    assert answer.status_code == 200, answer.text
    items: list[dict[str, Any]] = answer.json()
    return items


def test_the_secretary_keeps_the_mayors_schedule_and_everyone_reads_its_public_entries(api: Api) -> None:
    added = api.call("POST", "/api/schedule", "mayor.secretary", json=entry())
    assert added.status_code == 201, added.text
    for reader in ("mayor", "roads.staff", "auditor"):
        (seen,) = day_of(api, reader)
        assert (seen["shown"], seen["title"], seen["place"], seen["guests"]) == (
            True, "교통정책 현안 보고", "시장실 소회의실", ["시민교통연대 대표"]), reader

    refused = api.call("POST", "/api/schedule", "roads.staff", json=entry(title="끼워 넣은 일정"))
    assert refused.status_code == 403
    assert api.call("POST", "/api/schedule", "roads.staff", json=entry(owner=None)).status_code == 201  # their own
    assert [e["title"] for e in day_of(api, "mayor")] == ["교통정책 현안 보고"]


def test_a_private_entry_is_busy_time_to_everyone_but_its_keepers_and_attendees(api: Api) -> None:
    private = entry(title="인사 관련 면담", kind="면담", private=True, attendees=["planning.chief"], guests=[])
    assert api.call("POST", "/api/schedule", "mayor", json=private).status_code == 201
    for reader in ("mayor", "mayor.secretary", "planning.chief"):
        (seen,) = day_of(api, reader)
        assert (seen["shown"], seen["title"]) == (True, "인사 관련 면담"), reader
    (busy,) = day_of(api, "roads.staff")
    assert (busy["shown"], busy["title"], busy["notes"], busy["attendees"]) == (False, None, None, None)
    assert datetime.fromisoformat(busy["starts_at"]) == tomorrow_at(10)  # the time is taken, and that is all
    single = api.call("GET", f"/api/schedule/{busy['id']}", "roads.staff").json()
    assert (single["shown"], single["title"]) == (False, None)


def test_a_wrong_entry_names_every_field_and_keeps_nothing(api: Api) -> None:
    starts = tomorrow_at(15)
    wrong = entry(kind="회식", title=" ", starts_at=starts.isoformat(), ends_at=(starts - timedelta(hours=1)).isoformat(),
                  attendees=["nobody.here"], cases=["00000000-0000-0000-0000-000000000000"])
    answer = api.call("POST", "/api/schedule", "mayor.secretary", json=wrong)
    assert answer.status_code == 422
    assert sorted(e["field"] for e in answer.json()["errors"]) == ["attendees", "cases", "ends_at", "kind", "title"]
    assert day_of(api, "mayor") == []
    too_wide = api.call("GET", "/api/schedule", "mayor", params={
        "from": starts.isoformat(), "to": (starts + timedelta(days=90)).isoformat()})
    assert too_wide.status_code == 422


def test_changes_and_cancellations_are_recorded_and_a_cancelled_entry_leaves_the_day(api: Api) -> None:
    added = api.call("POST", "/api/schedule", "mayor.secretary", json=entry()).json()
    moved = api.call("PUT", f"/api/schedule/{added['id']}", "mayor.secretary",
                     json=entry(starts_at=tomorrow_at(14).isoformat(), ends_at=tomorrow_at(15).isoformat()))
    assert moved.status_code == 200, moved.text
    assert [e["starts_at"][11:16] for e in day_of(api, "mayor")] == ["05:00"]  # 14:00 in Seoul
    assert api.call("POST", f"/api/schedule/{added['id']}/cancel", "roads.staff").status_code == 403
    assert api.call("POST", f"/api/schedule/{added['id']}/cancel", "mayor").status_code == 200
    assert day_of(api, "mayor") == []
    trail = api.call("GET", "/api/audit", "auditor", params={"chain": "system", "limit": 200}).json()["items"]
    said = [(r["action"], r["actor"]) for r in trail if r["action"].startswith("schedule.")]
    assert sorted(said) == [("schedule.added", "mayor.secretary"), ("schedule.cancelled", "mayor"),
                            ("schedule.changed", "mayor.secretary")]
    changed = next(r for r in trail if r["action"] == "schedule.changed")
    assert changed["detail"]["was"]["starts_at"].startswith(tomorrow_at(10).astimezone(UTC).strftime("%Y-%m-%dT%H"))


def test_each_person_subscribes_to_their_entries_with_a_secret_address_that_can_be_renewed(api: Api) -> None:
    assert api.call("POST", "/api/schedule", "mayor.secretary", json=entry()).status_code == 201
    assert api.call("POST", "/api/schedule", "mayor", json=entry(title="인사 관련 면담", kind="면담", private=True,
                                                                   attendees=[], starts_at=tomorrow_at(16).isoformat(),
                                                                   ends_at=tomorrow_at(17).isoformat())).status_code == 201
    url = api.call("POST", "/api/schedule/feed", "mayor").json()["url"]
    feed = api.client.get(url)  # a phone's calendar: no login, the address is the credential
    assert feed.status_code == 200 and feed.headers["content-type"].startswith("text/calendar")
    events = list(Calendar.from_ical(feed.content).walk("VEVENT"))
    assert [str(e["summary"]) for e in events] == ["[회의] 교통정책 현안 보고", "[면담] 인사 관련 면담"]
    first = events[0]
    assert first.decoded("dtstart") == tomorrow_at(10)
    assert (str(first["location"]), str(first["class"])) == ("시장실 소회의실", "PUBLIC")
    assert "시민교통연대 대표" in str(first["description"])

    attending = api.call("POST", "/api/schedule/feed", "traffic.chief").json()["url"]
    theirs = Calendar.from_ical(api.client.get(attending).content).walk("VEVENT")
    assert [str(e["summary"]) for e in theirs] == ["[회의] 교통정책 현안 보고"]  # the meeting they attend, only

    renewed = api.call("POST", "/api/schedule/feed", "mayor").json()["url"]
    assert renewed != url
    assert api.client.get(url).status_code == 404
    assert api.client.get(renewed).status_code == 200
    assert api.client.get("/calendar/guessed-token.ics").status_code == 404
