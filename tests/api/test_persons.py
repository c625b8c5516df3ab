"""인물: people the mayor meets. Everyone who works here sees who a person is; their contacts and notes
only those who keep the register (the group 인물관리, the mayor, the 비서실), each reading for a purpose and
on record; a person erased at their request leaves the database and the trail without their values."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import lxml.html
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from engine.db import Database
from tests.api.conftest import Api
from tests.api.test_pages import hidden, log_in

PHONE, EMAIL = "010-2345-6789", "jsk@suwon-merchants.kr"


def citizen(**changes: Any) -> dict[str, Any]:
    return {"name": "김정숙", "kind": "기관·단체", "organisation": "팔달문시장 상인회", "position": "상인회장",
            "tags": ["전통시장", "주차"], "phone": PHONE, "email": EMAIL, "address": "수원시 팔달구 정조로 801",
            "notes": "오전 통화 선호. 주차장 확충 건으로 두 차례 면담.", **changes}


def registered(api: Api, by: str = "mayor.aide", **changes: Any) -> dict[str, Any]:
    answer = api.call("POST", "/api/persons", by, json=citizen(**changes))
    assert answer.status_code == 201, answer.text
    result: dict[str, Any] = answer.json()
    return result


def trail(api: Api, action: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = api.call("GET", "/api/audit", "auditor", params={"action": action}).json()["items"]
    return found


def test_staff_see_who_a_person_is_but_not_how_to_reach_them(api: Api) -> None:
    person = registered(api)
    seen = api.call("GET", f"/api/persons/{person['id']}", "roads.staff")
    assert seen.status_code == 200
    shown = seen.json()
    assert (shown["name"], shown["organisation"], shown["position"], shown["kind"]) == (
        "김정숙", "팔달문시장 상인회", "상인회장", "기관·단체")
    assert shown["personal_fields"] == ["phone", "email", "address", "notes"]  # that there are, not what
    assert PHONE not in seen.text and EMAIL not in seen.text and "오전 통화" not in seen.text
    listed = api.call("GET", "/api/persons", "roads.staff", params={"q": "상인회"}).json()
    assert [p["name"] for p in listed["items"]] == ["김정숙"] and PHONE not in json.dumps(listed)

    refused = api.call("POST", f"/api/persons/{person['id']}/personal-data", "roads.staff",
                       json={"purpose": "민원 회신"})
    assert refused.status_code == 403
    assert refused.json()["error"] == "PersonalDataRefused" and PHONE not in refused.text
    assert [(r["actor"], r["detail"]) for r in trail(api, "person.refused")] == [
        ("roads.staff", {"person": person["id"], "attempted": "read personal data"})]
    for who in ("roads.chief", "admin", "vice.mayor"):  # neither rank nor administering entitles
        assert api.call("POST", f"/api/persons/{person['id']}/personal-data", who,
                        json={"purpose": "일정 조율"}).json()["error"] == "PersonalDataRefused", who
    assert api.call("POST", f"/api/persons/{person['id']}/personal-data", "auditor",  # who read, not what
                    json={"purpose": "일정 조율"}).status_code == 403
    assert api.call("POST", "/api/persons", "roads.staff", json=citizen()).json()["error"] == "PersonalDataRefused"
    assert api.call("PUT", f"/api/persons/{person['id']}", "roads.chief",
                    json=citizen(position="전 상인회장")).status_code == 403
    assert api.call("GET", f"/api/persons/{person['id']}/views", "roads.staff").status_code == 403


def test_those_who_keep_the_register_read_contacts_for_a_purpose_and_every_reading_is_on_record(api: Api) -> None:
    person = registered(api)
    path = f"/api/persons/{person['id']}/personal-data"
    assert api.call("POST", path, "mayor.secretary", json={}).status_code == 422  # no purpose, no reading
    wrong = api.call("POST", path, "mayor.secretary", json={"purpose": "궁금해서"})
    assert wrong.status_code == 422 and wrong.json()["errors"][0]["field"] == "purpose"
    assert trail(api, "person.viewed") == []

    for who, purpose in (("mayor.secretary", "일정 조율"), ("mayor.aide", "행사 초청"), ("mayor", "면담 후속 조치")):
        read = api.call("POST", path, who, json={"purpose": purpose})
        assert read.status_code == 200, read.text
        assert (read.json()["phone"], read.json()["email"], read.json()["purpose"]) == (PHONE, EMAIL, purpose)

    views = trail(api, "person.viewed")
    assert [(r["actor"], r["detail"]["purpose"]) for r in views] == [
        ("mayor.secretary", "일정 조율"), ("mayor.aide", "행사 초청"), ("mayor", "면담 후속 조치")]
    assert views[0]["detail"] == {"person": person["id"], "purpose": "일정 조율",
                                  "fields": ["phone", "email", "address", "notes"]}
    listed = api.call("GET", f"/api/persons/{person['id']}/views", "auditor").json()  # the auditor reads who read
    assert [(v["actor"], v["purpose"]) for v in listed] == [
        ("mayor", "면담 후속 조치"), ("mayor.aide", "행사 초청"), ("mayor.secretary", "일정 조율")]
    assert api.call("GET", f"/api/persons/{person['id']}/views", "mayor.aide").status_code == 200


def test_the_trail_of_the_register_names_fields_never_values(api: Api) -> None:
    person = registered(api)
    changed = api.call("PUT", f"/api/persons/{person['id']}", "mayor.aide",
                       json=citizen(position="명예 상인회장", phone="031-228-0000", email=None, notes=None))
    assert changed.status_code == 200, changed.text
    kept = api.call("POST", f"/api/persons/{person['id']}/personal-data", "mayor.aide",
                    json={"purpose": "정보 수정"}).json()
    assert (kept["phone"], kept["email"]) == ("031-228-0000", EMAIL)  # left out: left as it was
    (added,) = trail(api, "person.added")
    assert added["detail"] == {"person": person["id"], "fields": [
        "name", "kind", "organisation", "position", "tags", "phone", "email", "address", "notes"]}
    (change,) = trail(api, "person.changed")
    assert change["detail"] == {"person": person["id"], "fields": ["position", "phone"]}
    everything = json.dumps(api.call("GET", "/api/audit", "auditor", params={"limit": 1000}).json(), ensure_ascii=False)
    for value in ("김정숙", "상인회장", "팔달문시장", PHONE, "031-228-0000", EMAIL, "정조로", "오전 통화"):
        assert value not in everything, value


def _entry(api: Api, title: str, starts: str, **more: Any) -> dict[str, Any]:
    answer = api.call("POST", "/api/schedule", "mayor.secretary", json={
        "owner": "mayor", "kind": "면담", "title": title, "starts_at": f"{starts}T14:00:00+09:00",
        "ends_at": f"{starts}T15:00:00+09:00", **more})
    assert answer.status_code == 201, answer.text
    result: dict[str, Any] = answer.json()
    return result


def test_a_persons_history_lists_entries_remarks_and_cases_newest_first_as_the_reader_may_read_them(
    api: Api, client: TestClient,
) -> None:
    person = registered(api)
    met = _entry(api, "전통시장 상인회 면담", "2026-11-02", guests=["상인회장"])
    private = _entry(api, "상인회장 비공개 면담", "2026-11-20", private=True)
    remark = api.call("POST", "/api/remarks", "mayor.secretary", json={
        "speaker": "mayor", "said_at": "2026-11-09T09:50:00+09:00", "kind": "회의", "occasion": "확대간부회의",
        "text": "전통시장 주차난은 상인회와 함께 풀어야 합니다."}).json()
    directive = api.start("mayor", "directive", {"title": "전통시장 주차난 해소 방안 마련"})
    path = f"/api/persons/{person['id']}/links"
    for kind, target, role in (("schedule", met["id"], "참석"), ("schedule", private["id"], "참석"),
                               ("remark", remark["id"], "언급"), ("case", directive["id"], "요청")):
        answer = api.call("POST", path, "mayor.secretary", json={"kind": kind, "target": str(target), "role": role})
        assert answer.status_code == 201, answer.text
    again = api.call("POST", path, "mayor.secretary", json={"kind": "remark", "target": str(remark["id"])})
    assert again.status_code == 422
    nothing = api.call("POST", path, "mayor.secretary", json={"kind": "case", "target": "no-such-case"})
    assert nothing.status_code == 422 and nothing.json()["errors"][0]["field"] == "target"
    assert api.call("POST", path, "roads.staff", json={"kind": "remark", "target": str(remark["id"])}
                    ).json()["error"] == "PersonalDataRefused"

    def history(who: str) -> list[tuple[str, str]]:
        shown = api.call("GET", f"/api/persons/{person['id']}", who).json()["history"]
        return [(item["kind"], item["title"]) for item in shown]

    directive_started = ("case", "전통시장 주차난 해소 방안 마련")  # started now: the newest
    assert history("mayor.secretary") == [directive_started, ("schedule", "상인회장 비공개 면담"),
                                          ("remark", "확대간부회의"), ("schedule", "전통시장 상인회 면담")]
    # A department's staff read the public entry and the remark; the private entry and the case are not theirs.
    assert history("roads.staff") == [("remark", "확대간부회의"), ("schedule", "전통시장 상인회 면담")]

    log_in(client, "roads.staff")
    page = lxml.html.fromstring(client.get(f"/persons/{person['id']}").text)
    items = [" ".join(li.text_content().split()) for li in page.xpath("//section[@id='history']//li")]
    assert len(items) == 2 and items[0].startswith("말씀") and "확대간부회의" in items[0]
    assert page.xpath("//section[@id='history']//a/@href") == [f"/remarks/{remark['id']}", f"/schedule/{met['id']}"]

    (first,) = [item for item in api.call("GET", f"/api/persons/{person['id']}", "mayor.aide").json()["history"]
                if item["kind"] == "remark"]
    unlinked = api.call("DELETE", f"/api/persons/{person['id']}/links/{first['link_id']}", "mayor.aide")
    assert unlinked.status_code == 200 and ("remark", "확대간부회의") not in history("mayor.aide")
    assert [r["detail"] for r in trail(api, "person.unlinked")] == [
        {"person": person["id"], "kind": "remark", "target": str(remark["id"])}]


def test_a_person_erased_at_their_request_leaves_only_the_record_of_the_erasure(
    api: Api, database: Database,
) -> None:
    person = registered(api)
    other = registered(api, name="이도윤", phone="010-9999-0000", email="dy@example.kr")
    met = _entry(api, "상인회 면담", "2026-11-02", guests=["상인회 대표단"])
    api.call("POST", f"/api/persons/{person['id']}/links", "mayor.aide", json={"kind": "schedule", "target": str(met["id"])})
    api.call("POST", f"/api/persons/{person['id']}/personal-data", "mayor.secretary", json={"purpose": "일정 조율"})
    assert api.call("POST", f"/api/persons/{person['id']}/erase", "roads.staff",
                    json={"channel": "전화"}).json()["error"] == "PersonalDataRefused"
    assert api.call("POST", f"/api/persons/{person['id']}/erase", "mayor.aide", json={"channel": "?"}).status_code == 422

    erased = api.call("POST", f"/api/persons/{person['id']}/erase", "mayor.aide", json={"channel": "전화"})
    assert erased.status_code == 200, erased.text
    shown = api.call("GET", f"/api/persons/{person['id']}", "roads.staff").json()
    assert (shown["name"], shown["kind"], shown["organisation"], shown["position"], shown["tags"]) == (
        None, None, "", "", [])
    assert shown["personal_fields"] == [] and shown["history"] == []
    assert shown["erased"]["by"] == "mayor.aide" and shown["erased"]["channel"] == "전화"
    again = api.call("POST", f"/api/persons/{person['id']}/personal-data", "mayor.aide", json={"purpose": "일정 조율"})
    assert again.status_code == 409 and again.json()["error"] == "PersonErased"
    assert api.call("POST", f"/api/persons/{person['id']}/erase", "mayor.aide",
                    json={"channel": "전화"}).json()["error"] == "PersonErased"
    assert [p["name"] for p in api.call("GET", "/api/persons", "roads.staff").json()["items"]] == ["이도윤"]
    gone = api.call("GET", "/api/persons", "mayor.aide", params={"erased": True}).json()["items"]
    assert [(p["id"], p["name"]) for p in gone] == [(person["id"], None)]
    assert api.call("GET", "/api/persons", "roads.staff", params={"erased": True}).status_code == 403

    with database.engine.connect() as connection:
        row = connection.execute(text("SELECT name, kind, organisation, position, tags, erased_by, erasure_channel "
                                      "FROM persons WHERE id = :id"), {"id": person["id"]}).one()
        assert tuple(row[:4]) == (None, None, "", "") and row[4] in ([], "[]")
        assert tuple(row[5:]) == ("mayor.aide", "전화")
        for table in ("person_contacts", "person_links"):
            assert connection.execute(text(f"SELECT count(*) FROM {table} WHERE person_id = :id"),
                                      {"id": person["id"]}).scalar() == 0
        assert connection.execute(text("SELECT count(*) FROM person_contacts WHERE person_id = :id"),
                                  {"id": other["id"]}).scalar() == 1
        stored = " ".join(str(value) for value in connection.execute(
            text("SELECT changes, detail FROM audit_records")).scalars())
    for value in ("김정숙", "상인회장", "팔달문시장", PHONE, EMAIL, "정조로", "오전 통화"):
        assert value not in stored, value

    (record,) = trail(api, "person.erased")
    assert record["actor"] == "mayor.aide"
    assert record["detail"] == {"person": person["id"], "channel": "전화", "links": 1, "fields": [
        "name", "kind", "organisation", "position", "tags", "phone", "email", "address", "notes"]}
    views = api.call("GET", f"/api/persons/{person['id']}/views", "auditor").json()  # the readings stay on record
    assert [(v["actor"], v["purpose"]) for v in views] == [("mayor.secretary", "일정 조율")]
    verified = api.call("GET", "/api/audit/verify", "auditor").json()
    assert verified["ok"], verified["findings"]


def _text(html: str, xpath: str = "//main") -> str:
    return " ".join(lxml.html.fromstring(html).xpath(f"string({xpath})").split())


def test_on_the_pages_staff_read_who_a_person_is_and_the_aide_reads_contacts_for_a_purpose(
    api: Api, client: TestClient,
) -> None:
    person = registered(api)
    log_in(client, "roads.staff")
    listing = client.get("/persons", params={"q": "팔달문"})
    assert "김정숙" in _text(listing.text) and "인물 등록" not in listing.text
    page = client.get(f"/persons/{person['id']}")
    shown = _text(page.text)
    assert "상인회장" in shown and PHONE not in page.text and "오전 통화" not in page.text
    assert not lxml.html.fromstring(page.text).xpath("//form[contains(@action, '/reveal')]")
    assert "인물관리 담당, 시장과 비서실만" in shown
    assert "열람 기록" not in shown  # who read them is not for every member of staff
    refused = client.post(f"/persons/{person['id']}/reveal", data={"csrf_token": hidden(page.text),
                                                                    "purpose": "민원 회신"})
    assert refused.status_code == 403 and PHONE not in refused.text
    assert "인물 관리 권한이 없습니다" in _text(refused.text)
    assert client.get("/persons/new").status_code == 403
    assert client.get(f"/persons/{person['id']}/erase").status_code == 403

    soon = (datetime.now(UTC) + timedelta(days=3)).date().isoformat()
    _entry(api, "상공회의소 간담회", soon, guests=["수원상공회의소 회장"])  # 회장, but not of 상인회
    _entry(api, "전통시장 상인 간담회", soon, guests=["상인회장", "상인회 총무"])
    client.cookies.clear()
    log_in(client, "mayor.aide")
    page = client.get(f"/persons/{person['id']}")
    assert "보관 항목: 전화, 이메일, 주소, 메모" in _text(page.text) and PHONE not in page.text
    offered = lxml.html.fromstring(page.text).xpath("//select[@name='target']//option/text()")
    assert [" ".join(o.split()) for o in offered[1:3]] == [f"★ {soon} · 전통시장 상인 간담회", f"{soon} · 상공회의소 간담회"]
    without = client.post(f"/persons/{person['id']}/reveal", data={"csrf_token": hidden(page.text), "purpose": ""})
    assert without.status_code == 422 and PHONE not in without.text and "열람 목적을 고르세요." in without.text
    revealed = client.post(f"/persons/{person['id']}/reveal", data={"csrf_token": hidden(page.text),
                                                                     "purpose": "행사 초청"})
    assert revealed.status_code == 200 and revealed.headers["cache-control"] == "no-store"
    assert PHONE in revealed.text and EMAIL in revealed.text and "열람 목적: 행사 초청" in _text(revealed.text)
    views = _text(revealed.text, "//section[@id='views']")
    assert "윤대외 · 주무관 · 행사 초청 (전화, 이메일, 주소, 메모)" in views and "mayor.aide" not in views
    english = _text(client.get(f"/persons/{person['id']}?lang=en").text)
    assert "Who read the contacts and notes" in english and "Inviting to an event" in english
    assert "Organisation or group" in english and "기관·단체" not in english

    client.cookies.clear()
    log_in(client, "auditor")  # the auditor reads who read them, not the contacts
    page = client.get(f"/persons/{person['id']}")
    assert "행사 초청" in _text(page.text, "//section[@id='views']") and PHONE not in page.text
    assert not lxml.html.fromstring(page.text).xpath("//form[contains(@action, '/reveal')]")


def test_on_the_pages_the_aide_registers_changes_and_erases_a_person_after_confirming(
    api: Api, client: TestClient,
) -> None:
    log_in(client, "mayor.aide")
    form = client.get("/persons/new")
    values = {"csrf_token": hidden(form.text), "name": "이도윤", "kind": "전문가", "organisation": "경기연구원",
              "position": "연구위원", "tags": "#복지 #돌봄", "phone": "전화 주세요", "email": "", "address": "",
              "notes": ""}
    wrong = client.post("/persons/new", data=values)
    assert wrong.status_code == 422 and "전화번호는 숫자, 띄어쓰기, - + ( ) 로만 씁니다" in wrong.text
    assert lxml.html.fromstring(wrong.text).xpath("//input[@name='name']/@value") == ["이도윤"]
    added = client.post("/persons/new", data={**values, "phone": "031-0000-1234"})
    assert added.status_code == 200 and "인물을 등록했습니다." in added.text
    (person,) = api.call("GET", "/api/persons", "roads.staff", params={"q": "이도윤"}).json()["items"]

    start = client.get(f"/persons/{person['id']}/edit")
    assert "‘정보 수정’ 목적의 열람으로 기록됩니다" in _text(start.text)
    opened = client.post(f"/persons/{person['id']}/edit", data={"csrf_token": hidden(start.text)})
    assert lxml.html.fromstring(opened.text).xpath("//input[@name='phone']/@value") == ["031-0000-1234"]
    assert [r["detail"]["purpose"] for r in trail(api, "person.viewed")] == ["정보 수정"]
    action = lxml.html.fromstring(opened.text).xpath("//form[@class='cf-form']/@action")[0]
    saved = client.post(action, data={**values, "csrf_token": hidden(opened.text), "phone": "031-0000-1234",
                                      "position": "선임연구위원"})
    assert saved.status_code == 200 and "선임연구위원" in _text(saved.text)

    confirm = client.get(f"/persons/{person['id']}/erase")
    assert "관련 이력 연결 (0건)" in _text(confirm.text)
    unconfirmed = client.post(f"/persons/{person['id']}/erase", data={"csrf_token": hidden(confirm.text),
                                                                       "channel": "방문"})
    assert unconfirmed.status_code == 422 and "본인이 삭제를 요청했음을 확인해 주세요." in unconfirmed.text
    assert api.call("GET", f"/api/persons/{person['id']}", "roads.staff").json()["name"] == "이도윤"
    erased = client.post(f"/persons/{person['id']}/erase", data={"csrf_token": hidden(confirm.text),
                                                                  "channel": "방문", "confirm": "yes"})
    shown = _text(erased.text)
    assert erased.status_code == 200 and "본인 요청(방문)으로 삭제되었습니다. 처리: 윤대외 · 주무관" in shown
    assert "이도윤" not in erased.text and "경기연구원" not in erased.text
    listing = _text(client.get("/persons?erased=1").text)
    assert "삭제된 인물" in listing and "본인 요청(방문)으로 삭제 · 처리 윤대외 · 주무관" in listing
    assert "mayor.aide" not in listing and "None" not in listing


def _bytes_of_files_beginning(path: Path) -> bytes:
    """The database file and its journals, read by another process: closing a file this process opened
    would drop every POSIX lock SQLite holds on it here, and the next process to close the database
    would take itself for the last and delete the shared journal from under this one."""
    read = ("import pathlib, sys; p = pathlib.Path(sys.argv[1]); sys.stdout.buffer.write(b''.join("
            "f.read_bytes() for f in sorted(p.parent.iterdir()) if f.name.startswith(p.name)))")
    return subprocess.run([sys.executable, "-c", read, str(path)], capture_output=True, check=True).stdout


def test_on_sqlite_an_erased_persons_values_are_gone_from_the_database_files(api: Api, database: Database) -> None:
    if database.dialect != "sqlite":
        pytest.skip("PostgreSQL keeps old row versions until VACUUM; the files are the server's")
    unique = {"name": "남궁소담", "phone": "010-0999-4321", "notes": "삭제검증용 메모 9f3a"}
    person = registered(api, **unique)
    registered(api, name="황보늘봄", phone="010-0888-1234")  # kept: the files are read where the rows are
    assert api.call("POST", f"/api/persons/{person['id']}/erase", "mayor.aide", json={"channel": "서면"}).status_code == 200
    path = Path(str(database.engine.url.database))
    with closing(sqlite3.connect(path)) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
    stored = _bytes_of_files_beginning(path)
    assert "황보늘봄".encode() in stored and b"010-0888-1234" in stored
    for value in unique.values():
        assert value.encode() not in stored, value


def test_a_link_to_something_that_is_not_there_is_named_not_a_failure(api: Api) -> None:
    person = registered(api)
    path = f"/api/persons/{person['id']}/links"
    for kind, target in (("schedule", "²"), ("schedule", "99999999999999999999"), ("remark", "-1"),
                         ("case", "x" * 36), ("letter", "1")):
        answer = api.call("POST", path, "mayor.aide", json={"kind": kind, "target": target})
        assert answer.status_code == 422 and answer.json()["errors"][0]["field"] == "target", (kind, target)
