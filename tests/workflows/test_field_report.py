"""Field reports (현장행정) from a phone: photos and a place, routed by category, acknowledged within a
working day (or the department head hears of it), fixed, closed with an after photo, the reporter told."""

from __future__ import annotations

import struct
import zlib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from tests.workflows.conftest import City

BPMN = Path(__file__).resolve().parents[2] / "workflows" / "field_report" / "field_report.bpmn"
CONTRACT = {"service_code", "category", "description", "location", "urgency", "reporter", "department", "status",
            "photos_before", "photo_after", "resolution", "acknowledged_at", "closed_at"}
PLACE = {"lat": 37.263573, "lon": 127.028601, "address": "수원시 팔달구 효원로 241 앞 보도"}


def png(red: int, green: int, blue: int) -> bytes:
    """A real one-pixel PNG of the given colour."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(bytes([0, red, green, blue]))) + chunk(b"IEND", b""))


def upload(city: City, username: str, instance_id: str, name: str, content: bytes) -> str:
    """Upload a photo to the instance; the reference a form's photo field holds."""
    answer = city.api.call("POST", f"/api/instances/{instance_id}/attachments", username,
                           files={"file": (name, content, "image/png")})
    assert answer.status_code == 201, answer.text
    assert answer.json()["content_type"] == "image/png"
    return f"attachment:{answer.json()['id']}"


def file_report(city: City, reporter: str = "welfare.staff", category: str = "도로파손", urgency: str = "보통",
                **start: Any) -> str:
    """From a phone: start a report, upload a photo, send the form; the worker routes it."""
    instance = city.api.start(reporter, "field_report", start)
    photo = upload(city, reporter, instance["id"], "IMG_0412.png", png(200, 40, 40))
    city.complete(reporter, instance["id"], "file_report", {
        "photos_before": [photo], "location": PLACE, "category": category,
        "description": "보도블록이 깨져 걸려 넘어질 수 있습니다.", "urgency": urgency,
    })
    city.work()
    return str(instance["id"])


def data(city: City, report_id: str) -> dict[str, Any]:
    result: dict[str, Any] = city.instance(report_id)["data"]
    return result


ARRIVAL = "새 할 일: "  # a task declared to announce its arrival (notify = arrival) tells its people so


def notified(city: City, username: str, report_id: str) -> list[str]:
    """What ``username`` was told about the report, newest first, besides new tasks arriving."""
    items = city.api.call("GET", "/api/notifications", username).json()["items"]
    return [n["title"] for n in items if n["instance_id"] == report_id and not n["title"].startswith(ARRIVAL)]


def arrived(city: City, username: str, report_id: str) -> list[str]:
    """The new tasks of the report ``username`` was told of."""
    items = city.api.call("GET", "/api/notifications", username).json()["items"]
    return [n["title"] for n in items if n["instance_id"] == report_id and n["title"].startswith(ARRIVAL)]


def until(city: City, moment: datetime) -> Any:
    return city.later(seconds=(moment - city.clock.now).total_seconds())


# -- filing and routing ---------------------------------------------------------------------------


def test_a_report_filed_with_a_photo_and_a_place_reaches_the_department_of_its_category(city: City) -> None:
    instance = city.api.start("welfare.staff", "field_report", {})
    assert city.open_elements(instance["id"]) == ["file_report"]
    assert not [t for t in city.tasks("roads.staff") if t["instance_id"] == instance["id"]]  # the reporter's form
    photo = upload(city, "welfare.staff", instance["id"], "IMG_0412.png", png(200, 40, 40))

    task = city.task("welfare.staff", instance["id"], "file_report")
    without_photo = city.api.call("POST", f"/api/tasks/{task['id']}/complete", "welfare.staff", json={"data": {
        "location": {"lat": 127.0, "lon": 37.2}, "category": "도로파손", "description": "보도 파손", "urgency": "보통"}})
    assert without_photo.status_code == 422
    assert {e["field"] for e in without_photo.json()["errors"]} == {"photos_before", "location.lat", "location.lon"}

    city.complete("welfare.staff", instance["id"], "file_report", {
        "photos_before": [photo], "location": PLACE, "category": "도로파손",
        "description": "보도블록이 깨져 걸려 넘어질 수 있습니다.", "urgency": "보통"})
    assert city.work().jobs == 1  # the moment of receipt is the worker's to record

    report = data(city, instance["id"])
    assert report.keys() >= CONTRACT
    assert report["photos_before"] == [photo]
    assert report["location"] == PLACE
    assert (report["category"], report["service_code"], report["department"]) == ("도로파손", "road-damage", "도로과")
    assert (report["reporter"], report["urgency"], report["status"]) == ("welfare.staff", "보통", "접수")
    assert report["received_at"] == "2026-12-07T09:00:00+09:00"
    assert report["acknowledge_by"] == "2026-12-08T09:00:00+09:00"
    assert (report["acknowledged_at"], report["photo_after"], report["closed_at"]) == (None, None, None)
    acknowledge = city.task("roads.staff", instance["id"], "acknowledge_report")
    assert acknowledge["candidates"]["groups"] == ["도로과"]
    assert acknowledge["due_at"].startswith("2026-12-08T00:00")
    assert not [t for t in city.tasks("welfare.staff") if t["instance_id"] == instance["id"]]
    for member in ("roads.staff", "roads.lead", "roads.chief"):  # the department hears of it, once each
        assert arrived(city, member, instance["id"]) == ["새 할 일: 접수 확인"], member
    assert arrived(city, "welfare.staff", instance["id"]) == []
    assert arrived(city, "traffic.staff", instance["id"]) == []
    photo_id = photo.split(":")[1]
    assert city.api.call("GET", f"/api/attachments/{photo_id}", "roads.lead").content == png(200, 40, 40)


def test_a_single_photo_sent_as_one_reference_is_kept_as_a_list(city: City) -> None:
    """The web form sends one uploaded photo as a single reference; the report still holds a list."""
    instance = city.api.start("roads.staff", "field_report", {"title": "가로등 고장"})
    photo = upload(city, "roads.staff", instance["id"], "night.png", png(10, 10, 10))
    city.complete("roads.staff", instance["id"], "file_report", {
        "photos_before": photo, "location": {"lat": 37.27, "lon": 127.01}, "category": "가로등",
        "description": "가로등 세 개가 꺼져 있습니다.", "urgency": "보통"})
    city.work()
    report = data(city, instance["id"])
    assert report["photos_before"] == [photo]
    assert report["title"] == "가로등 고장"


@pytest.mark.parametrize(("category", "department", "member", "code"), [
    ("불법주정차", "교통정책과", "traffic.staff", "illegal-parking"),
    ("쓰레기", "자원순환과", "recycling.staff", "litter"),
    ("가로등", "도로과", "roads.staff", "street-light"),
    ("환경오염", "환경정책과", "environment.staff", "pollution"),
    ("위기가구", "복지정책과", "welfare.lead", "household-in-crisis"),
    ("기타", "기획조정실", "planning.staff", "other"),
])
def test_the_decision_table_routes_each_category_to_its_department(
    city: City, category: str, department: str, member: str, code: str
) -> None:
    report_id = file_report(city, reporter="roads.lead", category=category)
    assert (data(city, report_id)["department"], data(city, report_id)["service_code"]) == (department, code)
    assert city.task(member, report_id, "acknowledge_report")["candidates"]["groups"] == [department]


# -- acknowledgement within a working day -----------------------------------------------------------


def test_an_unacknowledged_report_tells_the_department_head_once_a_working_day_has_passed(city: City) -> None:
    report_id = file_report(city)
    assert city.later(hours=23, minutes=59).timers == 0
    assert notified(city, "roads.chief", report_id) == []
    assert city.task("roads.staff", report_id, "acknowledge_report")["overdue"] is False

    assert city.later(minutes=1).timers == 1
    assert notified(city, "roads.chief", report_id) == ["현장 보고 접수 지연: 도로파손 · 수원시 팔달구 효원로 241 앞 보도"]
    assert notified(city, "roads.lead", report_id) == []  # the head only
    assert city.later(days=3).timers == 0  # told once; the report keeps waiting, flagged overdue
    assert city.task("roads.staff", report_id, "acknowledge_report")["overdue"] is True

    city.complete("roads.staff", report_id, "acknowledge_report", {"acknowledge_note": "내일 보수합니다."})
    city.work()
    assert city.open_elements(report_id) == ["resolve_report"]
    trail = city.trail(report_id)
    fired = [r for r in trail if r["action"] == "timer.fired"]
    assert [(r["actor"], r["element_id"], r["detail"]["due_at"]) for r in fired] == [
        ("system:timer", "acknowledge_overdue", "2026-12-08T00:00:00.000000Z")]
    order = [r["element_id"] for r in trail if r["action"] == "task.completed"
             and r["element_id"] in ("file_report", "notify_head", "acknowledge_report")]
    assert order == ["file_report", "notify_head", "acknowledge_report"]
    assert city.verified()


def test_a_report_acknowledged_in_time_troubles_nobody(city: City) -> None:
    report_id = file_report(city)
    city.later(hours=3)
    city.complete("roads.lead", report_id, "acknowledge_report", {})
    city.work()
    assert city.later(days=5).timers == 0
    assert notified(city, "roads.chief", report_id) == []
    report = data(city, report_id)
    assert (report["status"], report["acknowledged_at"]) == ("처리중", "2026-12-07T12:00:00+09:00")


def acknowledgement_falls_due(city: City, report_id: str, written: str, due: datetime) -> None:
    """The report must be acknowledged by ``written`` (as its data says it) — ``due`` — and the
    department head hears of it at that minute, not a minute before."""
    assert data(city, report_id)["acknowledge_by"] == written
    assert until(city, due - timedelta(minutes=1)).timers == 0
    assert notified(city, "roads.chief", report_id) == []
    assert city.later(minutes=1).timers == 1
    assert len(notified(city, "roads.chief", report_id)) == 1


def test_a_report_filed_before_christmas_and_a_weekend_is_due_on_monday(city: City) -> None:
    city.clock.set(datetime(2026, 12, 24, 1, 0, tzinfo=UTC))  # Thursday 10:00 in Seoul
    report_id = file_report(city)
    acknowledgement_falls_due(city, report_id, "2026-12-28T10:00:00+09:00", datetime(2026, 12, 28, 1, 0, tzinfo=UTC))


def test_an_urgent_report_reaches_the_department_head_at_once(city: City) -> None:
    report_id = file_report(city, reporter="traffic.staff", category="가로등", urgency="긴급")
    assert notified(city, "roads.chief", report_id) == ["[긴급] 현장 보고: 가로등 · 수원시 팔달구 효원로 241 앞 보도"]
    assert city.open_elements(report_id) == ["acknowledge_report"]


# -- fixing and closing ---------------------------------------------------------------------------------


def test_a_fix_is_closed_only_with_an_after_photo_and_the_reporter_sees_the_result(city: City) -> None:
    report_id = file_report(city, reporter="welfare.staff", title="효원로 보도 파손")
    city.later(hours=2)
    city.complete("roads.staff", report_id, "acknowledge_report", {"acknowledge_note": "오늘 오후 보수합니다.",
                                                                   "planned_fix_on": "2026-12-07"})
    city.work()
    working = data(city, report_id)
    assert (working["status"], working["acknowledged_at"]) == ("처리중", "2026-12-07T11:00:00+09:00")
    assert notified(city, "welfare.staff", report_id) == ["현장 보고 접수: 효원로 보도 파손"]  # 접수: who has it
    received = city.api.call("GET", "/api/notifications", "welfare.staff").json()["items"][0]
    assert received["body"] == "도로과에서 보고를 접수해 처리를 시작했습니다."

    city.later(hours=5)
    task = city.task("roads.staff", report_id, "resolve_report")
    note = {"resolution": "깨진 보도블록 12장을 교체했습니다."}
    refused = city.api.call("POST", f"/api/tasks/{task['id']}/complete", "roads.staff", json={"data": note})
    assert refused.status_code == 422
    assert refused.json()["errors"] == [{"field": "photo_after", "message": "필수 항목입니다."}]
    not_a_photo = city.api.call("POST", f"/api/tasks/{task['id']}/complete", "roads.staff",
                                json={"data": {**note, "photo_after": "https://example.com/after.png"}})
    assert not_a_photo.status_code == 422
    assert [e["field"] for e in not_a_photo.json()["errors"]] == ["photo_after"]
    assert data(city, report_id)["status"] == "처리중"

    after = upload(city, "roads.staff", report_id, "after.png", png(40, 200, 40))
    city.complete("roads.staff", report_id, "resolve_report", {**note, "photo_after": after})
    assert city.work().jobs == 2  # the closing moment, then the reporter's notice

    assert notified(city, "welfare.staff", report_id) == ["현장 보고 처리 완료: 효원로 보도 파손",
                                                          "현장 보고 접수: 효원로 보도 파손"]
    body = city.api.call("GET", "/api/notifications", "welfare.staff").json()["items"][0]["body"]
    assert body == "깨진 보도블록 12장을 교체했습니다."
    seen = city.api.call("GET", f"/api/instances/{report_id}", "welfare.staff").json()
    assert seen["status"] == "completed"
    closed = seen["data"]
    assert closed.keys() >= CONTRACT
    assert (closed["status"], closed["photo_after"], closed["resolution"]) == ("처리완료", after, note["resolution"])
    assert (closed["acknowledged_at"], closed["closed_at"]) == ("2026-12-07T11:00:00+09:00",
                                                                "2026-12-07T16:00:00+09:00")
    assert closed["reporter"] == "welfare.staff"
    download = city.api.call("GET", f"/api/attachments/{after.split(':')[1]}", "welfare.staff")
    assert download.content == png(40, 200, 40)

    trail = city.trail(report_id)
    done = [(r["element_id"], r["actor"]) for r in trail if r["action"] == "task.completed"
            and r["element_id"] in ("file_report", "acknowledge_report", "resolve_report", "notify_reporter")]
    assert done == [("file_report", "welfare.staff"), ("acknowledge_report", "roads.staff"),
                    ("resolve_report", "roads.staff"), ("notify_reporter", "system:worker")]
    statuses = [r["changes"]["status"][1] for r in trail if r["changes"] and "status" in r["changes"]]
    assert statuses == ["접수", "처리중", "처리완료"]
    assert trail[-1]["action"] == "instance.completed"
    assert city.verified()


# -- the model ----------------------------------------------------------------------------------------------


def test_the_field_report_diagram_draws_every_element_of_both_pools() -> None:
    tree = etree.parse(str(BPMN))
    ns = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
          "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI",
          "di": "http://www.omg.org/spec/DD/20100524/DI"}
    processes = tree.findall("bpmn:process", ns)
    assert sorted(p.get("id") for p in processes) == ["field_report", "field_report_filing"]
    nodes = [e for p in processes for e in p if isinstance(e.tag, str) and etree.QName(e).localname not in (
        "laneSet", "sequenceFlow", "documentation", "extensionElements")]
    flows = tree.findall(".//bpmn:sequenceFlow", ns)
    lanes = tree.findall(".//bpmn:lane", ns)
    participants = tree.findall(".//bpmn:participant", ns)
    shapes = {s.get("bpmnElement") for s in tree.iterfind(".//bpmndi:BPMNShape", ns)}
    edges = {e.get("bpmnElement") for e in tree.iterfind(".//bpmndi:BPMNEdge", ns)}

    assert {n.get("id") for n in nodes} | {lane.get("id") for lane in lanes} | {p.get("id") for p in participants} == shapes
    assert {f.get("id") for f in flows} == edges
    assert {lane.get("name") for lane in lanes} == {"현장 보고자", "접수·배정", "담당부서"}
    main = tree.find("bpmn:process[@id='field_report']", ns)
    assert main is not None
    in_lanes = sorted(ref.text for ref in main.iterfind(".//bpmn:flowNodeRef", ns))
    assert in_lanes == sorted(n.get("id") for n in nodes if n.getparent() is main)
    unnamed = [n.get("id") for n in nodes if not n.get("name") and not n.tag.endswith("Gateway")]
    assert unnamed == []
    for edge in tree.iterfind(".//bpmndi:BPMNEdge", ns):
        assert len(edge.findall("di:waypoint", ns)) >= 2
    boundary = tree.find(".//bpmn:boundaryEvent", ns)
    assert boundary is not None
    assert (boundary.get("attachedToRef"), boundary.get("cancelActivity")) == ("acknowledge_report", "false")
