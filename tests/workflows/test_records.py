"""기록물 관리 end to end through the HTTP API: a document drafted with its 분류, 보존기간 and 공개 구분
is registered as a record when it is approved; the register is searched and exported; a 비공개
record is read by those who took part and their line only; records past their retention are
disposed of by their own process, and the trails keep that it happened."""

from __future__ import annotations

import csv
import io
from typing import Any

from tests.workflows.conftest import City

LINE = [{"kind": "검토", "people": [{"user": "roads.lead"}]}, {"kind": "결재", "people": [{"user": "roads.chief"}]}]


def draft(**changes: Any) -> dict[str, Any]:
    document = {"title": "보도 정비 계획", "body": "시청 앞 보도를 정비합니다.", "doc_type": "일반", "amount": 0,
                "line": LINE, "record_unit": "보도 정비", "retention": "3년", "disclosure": "공개"}
    return {**document, **changes}


def approved(city: City, drafter: str = "roads.staff", **changes: Any) -> dict[str, Any]:
    """Draft a document as ``drafter``, have 김팀장 review it and 김과장 approve it; its final data."""
    city.later(minutes=7)
    iid: str = city.api.start(drafter, "approval", draft(**changes))["id"]
    city.complete("roads.lead", iid, "review", {"decision": "승인"})
    city.complete("roads.chief", iid, "approve", {"decision": "결재"})
    city.work()  # 결재일시 기록 and 기록물 등록 run in the worker
    data: dict[str, Any] = city.instance(iid)["data"]
    assert data["result"] == "APPROVED"
    return {"id": iid, **data}


def register(city: City, username: str, **query: Any) -> dict[str, Any]:
    answer = city.api.call("GET", "/api/records", username, params=query)
    assert answer.status_code == 200, answer.text
    page: dict[str, Any] = answer.json()
    return page


def record(city: City, username: str, record_id: int) -> Any:
    return city.api.call("GET", f"/api/records/{record_id}", username)


# -- registration ------------------------------------------------------------------------------


def test_an_approved_document_is_registered_with_the_record_fields_its_drafter_chose(city: City) -> None:
    document = approved(city)
    page = register(city, "welfare.staff", number=document["document_number"])
    assert page["total"] == 1
    (kept,) = page["items"]
    assert kept["id"] == document["record_id"]
    assert (kept["document_number"], kept["title"], kept["unit"], kept["retention"], kept["disclosure"]) == (
        document["document_number"], "보도 정비 계획", "보도 정비", "3년", "공개")
    # produced in 2026, kept 3 years counted from the next 1 January
    assert (kept["year"], kept["retain_until"], kept["status"]) == (2026, "2029-12-31", "보존")
    assert (kept["drafter"], kept["department"], kept["readable"]) == ("roads.staff", "도로과", True)
    # registered in the step that follows the number, before the drafter is told
    trail = city.trail(document["id"])
    steps = [r["element_id"] for r in trail if r["action"] == "job.completed"]
    assert steps[:3] == ["record_approval_time", "register_record", "notify_approved"]
    registered = next(r for r in trail if r["action"] == "task.completed" and r["element_id"] == "register_record")
    assert registered["changes"]["record_id"] == [None, document["record_id"]]
    assert city.verified()


def test_a_closed_document_needs_its_legal_ground_and_nothing_starts_without_it(city: City) -> None:
    answer = city.api.call("POST", "/api/instances", "roads.staff",
                           json={"process_key": "approval", "data": draft(disclosure="비공개")})
    assert answer.status_code == 422, answer.text
    assert "disclosure_ground" in answer.text
    answer = city.api.call("POST", "/api/instances", "roads.staff",
                           json={"process_key": "approval", "data": draft(retention="2년")})
    assert answer.status_code == 422 and "retention" in answer.text
    assert city.api.call("GET", "/api/instances?process_key=approval", "roads.staff").json()["items"] == []


def test_a_document_drafted_without_record_fields_is_registered_unclassified_open_for_five_years(
        city: City) -> None:
    bare = {k: v for k, v in draft().items() if k not in ("record_unit", "retention", "disclosure")}
    iid = city.api.start("roads.staff", "approval", bare)["id"]
    city.complete("roads.lead", iid, "review", {"decision": "승인"})
    city.complete("roads.chief", iid, "approve", {"decision": "결재"})
    city.work()
    (kept,) = register(city, "roads.staff")["items"]
    assert (kept["unit"], kept["retention"], kept["disclosure"], kept["retain_until"]) == (
        "미분류", "5년", "공개", "2031-12-31")


def test_a_returned_and_discarded_document_is_never_registered(city: City) -> None:
    iid = city.api.start("roads.staff", "approval", draft())["id"]
    city.complete("roads.lead", iid, "review", {"decision": "반려", "comment": "예산 근거가 없습니다"})
    city.complete("roads.staff", iid, "revise_document", {"revise_action": "폐기"})
    city.work()
    assert city.instance(iid)["data"]["result"] == "DISCARDED"
    assert register(city, "auditor")["total"] == 0


# -- the register ------------------------------------------------------------------------------


def test_the_register_is_searched_by_number_unit_retention_disclosure_year_department_and_title(
        city: City) -> None:
    paving = approved(city, title="보도 정비 계획", record_unit="보도 정비", retention="3년")
    permit = approved(city, title="도로 점용 허가 처리", record_unit="도로 점용 허가", retention="10년",
                      disclosure="부분공개", disclosure_ground="제6호")
    welfare_line = [{"kind": "검토", "people": [{"user": "welfare.lead"}]},
                    {"kind": "결재", "people": [{"user": "welfare.chief"}]}]
    city.later(minutes=7)
    iid = city.api.start("welfare.staff", "approval", draft(title="경로당 운영 지원", record_unit="노인복지 시설 운영",
                                                             retention="영구", line=welfare_line))["id"]
    city.complete("welfare.lead", iid, "review", {"decision": "승인"})
    city.complete("welfare.chief", iid, "approve", {"decision": "결재"})
    city.work()

    def numbers(**query: Any) -> list[str]:
        return sorted(item["document_number"] for item in register(city, "roads.staff", **query)["items"])

    everything = numbers()
    assert len(everything) == 3
    assert numbers(number=paving["document_number"][-6:]) == [paving["document_number"]]
    assert numbers(unit="도로 점용 허가") == [permit["document_number"]]
    assert numbers(retention="3년") == [paving["document_number"]]
    assert numbers(disclosure="부분공개") == [permit["document_number"]]
    assert numbers(year=2026) == everything and numbers(year=2025) == []
    assert len(numbers(department="도로과")) == 2 and len(numbers(department="복지정책과")) == 1
    assert numbers(title="점용") == [permit["document_number"]]
    welfare = register(city, "roads.staff", department="복지정책과")["items"][0]
    assert (welfare["retention"], welfare["retain_until"]) == ("영구", None)
    assert city.api.call("GET", "/api/records?retention=2년", "roads.staff").status_code == 422


def test_the_register_exports_as_csv_with_names_and_a_closed_title_withheld(city: City) -> None:
    approved(city, title="보도 정비 계획")
    approved(city, title="민원인 개인정보 처리", disclosure="비공개", disclosure_ground="제6호")
    answer = city.api.call("GET", "/api/records/export.csv", "welfare.staff")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(answer.content.decode("utf-8-sig"))))
    assert rows[0][:6] == ["문서번호", "제목", "분류", "보존기간", "보존기한", "공개 구분"]
    titles = sorted(row[1] for row in rows[1:])
    assert titles == ["(비공개)", "보도 정비 계획"]
    assert {row[9] for row in rows[1:]} == {"김주무관"}  # the drafter by name, never a username
    mine = list(csv.reader(io.StringIO(city.api.call("GET", "/api/records/export.csv?disclosure=비공개",
                                                        "roads.lead").content.decode("utf-8-sig"))))
    assert [row[1] for row in mine[1:]] == ["민원인 개인정보 처리"]


# -- who reads a closed record -----------------------------------------------------------------


def test_a_closed_record_is_read_by_those_who_took_part_and_their_line_and_nobody_else(city: City) -> None:
    closed = approved(city, title="민원인 개인정보 처리", body="민원인 홍길동(010-0000-0000)의 신청을 처리합니다.",
                      disclosure="비공개", disclosure_ground="제6호")
    opened = approved(city, title="보도 정비 계획")
    closed_id, open_id = closed["record_id"], opened["record_id"]
    # those who took part: the drafter, the reviewer, the approver; their line: the bureau head above 도로과
    for insider in ("roads.staff", "roads.lead", "roads.chief", "safety.director", "auditor"):
        answer = record(city, insider, closed_id)
        assert answer.status_code == 200, (insider, answer.text)
        assert answer.json()["content"]["body"].startswith("민원인 홍길동")
    # outsiders: another department's staff and its chief, another bureau's head
    for outsider in ("welfare.staff", "welfare.chief", "traffic.chief", "welfare.director"):
        answer = record(city, outsider, closed_id)
        assert answer.status_code == 403, (outsider, answer.text)
        assert "홍길동" not in answer.text
        listed = {item["id"]: item for item in register(city, outsider)["items"]}
        assert listed[closed_id]["title"] == "(비공개)" and not listed[closed_id]["readable"]
        assert listed[closed_id]["disclosure_ground"] == "제6호"
        assert register(city, outsider, title="개인정보")["total"] == 0
        # an open record is read by everyone who works here
        assert record(city, outsider, open_id).json()["content"]["body"] == "시청 앞 보도를 정비합니다."
    assert register(city, "roads.lead", title="개인정보")["total"] == 1
