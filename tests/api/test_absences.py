"""Absences (출장, 휴가, 교육, 병가) and 대결: recorded by the absent person (or an admin), seen by
them and their deputy, ended early; on the web the deputy finds the colleague's work marked 대결."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import lxml.html
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import commands, identity
from engine.context import EngineContext
from engine.db import Database
from engine.errors import Conflict, FormInvalid, NotAllowed
from engine.identity import Principal
from engine.models import AuditRecord
from tests.api.conftest import Api, seed
from tests.api.test_pages import hidden, log_in

SUGGESTION = {"title": "버스정류장 그늘막", "supporters": 40}


def as_(session: Session, username: str) -> Principal:
    return identity.principal(session, identity.get_user(session, username))


def soon(hours: float) -> datetime:
    return datetime.now(UTC) + timedelta(hours=hours)


@pytest.fixture
def city(database: Database) -> Database:
    seed(database, folders=[])
    return database


def record(session: Session, ctx: EngineContext, actor: str, **changes: Any) -> Any:
    values: dict[str, Any] = {"username": None, "deputy": "roads.lead", "kind": "출장",
                              "starts_at": soon(1), "ends_at": soon(30)}
    values.update(changes)
    return commands.record_absence(session, ctx, as_(session, actor), values["username"], values["deputy"],
                                   values["kind"], values["starts_at"], values["ends_at"])


def test_a_person_records_their_own_absence_on_the_record(city: Database, ctx: EngineContext) -> None:
    with city.unit_of_work() as session:
        absence = record(session, ctx, "roads.staff")
        assert (absence.username, absence.deputy, absence.kind) == ("roads.staff", "roads.lead", "출장")
    with city.unit_of_work() as session:
        added = session.execute(select(AuditRecord).where(AuditRecord.action == "absence.added")).scalar_one()
        assert added.actor == "roads.staff"
        assert [a.id for a in identity.absences_seen(session, as_(session, "roads.staff"))] == [absence.id]
        assert [a.id for a in identity.absences_seen(session, as_(session, "roads.lead"))] == [absence.id]
        assert identity.absences_seen(session, as_(session, "traffic.staff")) == []
        assert [a.id for a in identity.absences_seen(session, as_(session, "admin"))] == [absence.id]


def test_only_an_admin_records_someone_elses_absence(city: Database, ctx: EngineContext) -> None:
    with city.unit_of_work() as session:
        with pytest.raises(NotAllowed, match="only an admin may record another person's absence"):
            record(session, ctx, "roads.chief", username="roads.staff")
        assert record(session, ctx, "admin", username="roads.staff").username == "roads.staff"
        with pytest.raises(NotAllowed, match="auditors"):
            record(session, ctx, "auditor")


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"kind": "외출"}, "kind", "choose 출장"),
        ({"deputy": "nobody.here"}, "deputy", "someone working here"),
        ({"deputy": "roads.staff"}, "deputy", "their own deputy"),
        ({"deputy": ""}, "deputy", "choose a deputy"),
        ({"ends_at": soon(0.5)}, "ends_at", "end after it starts"),
        ({"starts_at": soon(-30), "ends_at": soon(-2)}, "ends_at", "over already"),
        ({"starts_at": datetime(2030, 1, 1, 9)}, "starts_at", "offset"),
        ({"ends_at": None}, "ends_at", "date and time"),
    ],
)
def test_a_wrong_absence_is_refused_naming_the_field(
    city: Database, ctx: EngineContext, changes: dict[str, Any], field: str, message: str,
) -> None:
    with city.unit_of_work() as session:
        with pytest.raises(FormInvalid) as refused:
            record(session, ctx, "roads.staff", **changes)
        assert [e["field"] for e in refused.value.errors] == [field]
        assert message in refused.value.errors[0]["message"]


def test_an_absence_ends_early_or_is_called_off_on_the_record(city: Database, ctx: EngineContext) -> None:
    with city.unit_of_work() as session:
        under_way = record(session, ctx, "roads.staff", starts_at=soon(-1))
        coming = record(session, ctx, "roads.staff", starts_at=soon(48), ends_at=soon(72))
        ids = (under_way.id, coming.id)
    with city.unit_of_work() as session:
        with pytest.raises(NotAllowed, match="only an admin may end another person's absence"):
            commands.end_absence(session, ctx, as_(session, "roads.lead"), ids[0])
        assert as_(session, "roads.lead").covering[0].username == "roads.staff"
        commands.end_absence(session, ctx, as_(session, "roads.staff"), ids[0])
        commands.end_absence(session, ctx, as_(session, "admin"), ids[1])
    with city.unit_of_work() as session:
        assert as_(session, "roads.lead").covering == ()
        assert identity.absences_seen(session, as_(session, "roads.staff")) == []
        ended = session.execute(select(AuditRecord).where(AuditRecord.action == "absence.ended")
                                .order_by(AuditRecord.seq)).scalars().all()
        assert [(r.actor, r.detail["called_off"]) for r in ended] == [("roads.staff", False), ("admin", True)]
        with pytest.raises(Conflict):
            commands.end_absence(session, ctx, as_(session, "roads.staff"), ids[0])


def test_the_api_records_lists_and_ends_absences(api: Api) -> None:
    body = {"deputy": "traffic.staff", "kind": "교육", "starts_at": soon(2).isoformat(),
            "ends_at": soon(20).isoformat()}
    made = api.call("POST", "/api/absences", "roads.staff", json=body)
    assert made.status_code == 201, made.text
    absence = made.json()
    assert (absence["username"], absence["deputy"]) == ("roads.staff", "traffic.staff")
    assert [a["id"] for a in api.call("GET", "/api/absences", "traffic.staff").json()] == [absence["id"]]
    assert api.call("GET", "/api/absences", "welfare.staff").json() == []

    other = api.call("POST", "/api/absences", "roads.chief", json={**body, "username": "roads.staff"})
    assert (other.status_code, other.json()["error"]) == (403, "NotAllowed")
    wrong = api.call("POST", "/api/absences", "roads.staff", json={**body, "kind": "외출", "deputy": "roads.staff"})
    assert wrong.status_code == 422
    assert sorted(e["field"] for e in wrong.json()["errors"]) == ["deputy", "kind"]

    assert api.call("POST", f"/api/absences/{absence['id']}/end", "traffic.staff").status_code == 403
    ended = api.call("POST", f"/api/absences/{absence['id']}/end", "roads.staff")
    assert ended.status_code == 200, ended.text
    assert api.call("GET", "/api/absences", "roads.staff").json() == []
    assert api.call("POST", "/api/absences/999999/end", "admin").status_code == 404


CARDS = '//section[@aria-labelledby="current"]//li[@class="cf-card"]'


def text_of(html: str, selector: str) -> list[str]:
    return [" ".join(e.text_content().split()) for e in lxml.html.fromstring(html).xpath(selector)]


def test_a_deputy_chosen_on_the_web_finds_the_colleagues_task_marked_daegyeol(api: Api, client: TestClient) -> None:
    api.start("roads.staff", "suggestion", SUGGESTION)  # its review waits for the planning office
    log_in(client, "planning.staff")
    page = client.get("/absences")
    assert page.status_code == 200
    options = text_of(page.text, '//*[@id="deputy"]//option')
    assert "이주무관" in options and not any("." in o for o in options)  # names, never logins
    assert "기획조정실장 · 국장" in options  # the position when the name does not say it already
    assert "교통정책과" in [g.get("label") for g in lxml.html.fromstring(page.text).xpath('//*[@id="deputy"]/optgroup')]
    form = {"csrf_token": hidden(page.text), "kind": "출장", "deputy": "traffic.staff",
            "starts_at": (datetime.now(UTC) - timedelta(hours=1)).astimezone().strftime("%Y-%m-%dT%H:%M"),
            "ends_at": "2099-12-03T18:00"}

    refused = client.post("/absences", data={**form, "deputy": "", "ends_at": "2001-01-01T09:00"})
    assert refused.status_code == 422
    assert "대결자를 선택하세요." in text_of(refused.text, '//span[@class="cf-error"]')
    assert "출장" in text_of(refused.text, '//*[@id="kind"]/option[@selected]')  # the values are kept
    assert lxml.html.fromstring(refused.text).xpath('//*[@id="ends_at"]')[0].get("value") == "2001-01-01T09:00"

    done = client.post("/absences", data=form, follow_redirects=False)
    assert done.status_code == 303, done.text
    listed = client.get(done.headers["location"])
    assert "부재를 등록했습니다" in listed.text
    (card,) = text_of(listed.text, CARDS)
    assert "출장 · 내 부재" in card and "대결자: 이주무관" in card and "2099년 12월 3일 (목) 18:00" in card
    assert "traffic.staff" not in card

    client.post("/logout", data={"csrf_token": hidden(listed.text)})
    log_in(client, "traffic.staff")
    inbox = client.get("/")
    assert "대결 · 정책기획 주무관" in text_of(inbox.text, '//h3[@class="cf-acting"]')  # 주무관 once
    assert "planning.staff" not in inbox.text
    english = client.get("/?lang=en")
    assert "Acting for 정책기획 주무관" in text_of(english.text, '//h3[@class="cf-acting"]')
    covering = client.get("/absences")
    (card,) = text_of(covering.text, CARDS)
    assert "Business trip · 정책기획 주무관" in card and "주무관 · 주무관" not in card
    assert "You stand in as deputy." in card
    assert "End now" not in card  # only the absent person or an admin ends it
