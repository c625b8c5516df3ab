"""기록물 관리 end to end through the HTTP API: a document drafted with its 분류, 보존기간 and 공개 구분
is registered as a record when it is approved; the register is searched and exported; a 비공개
record is read by those who took part and their line only; records past their retention are
disposed of by their own process, and the trails keep that it happened."""

from __future__ import annotations

import csv
import io
from typing import Any

from tests.api.test_pages import log_in
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


# -- disposal past retention -------------------------------------------------------------------


def test_records_past_retention_are_reviewed_approved_and_disposed_of_and_the_trails_keep_it(city: City) -> None:
    short = approved(city, title="2026 보도 정비 일정 통보", retention="1년")
    kept = approved(city, title="민원 처리 결과", retention="1년", disclosure="비공개", disclosure_ground="제6호")
    longer = approved(city, title="보도 정비 계획", retention="3년")
    forever = approved(city, title="도로 대장 정리", retention="영구")
    city.later(days=393)  # 2028-01-04: the 1년 records of 2026 were kept to the end of 2027
    assert sorted(i["document_number"] for i in register(city, "auditor", status="경과")["items"]) == sorted(
        [short["document_number"], kept["document_number"]])

    case = city.api.start("planning.staff", "records_disposal", {"note": "2027년 보존기간 만료분 정기 심의"})["id"]
    city.work()  # the list is made by the worker
    listed = city.instance(case)["data"]
    assert [c["document_number"] for c in listed["candidates"]] == [short["document_number"],
                                                                    kept["document_number"]]
    assert listed["records_chief"] == "planning.chief" and listed["status"] == "심의"
    # only the records manager's group reviews it
    assert not [t for t in city.tasks("roads.staff") if t["instance_id"] == case]
    # a number that is not on the list is sent back to the reviewer
    city.complete("planning.staff", case, "review_disposal", {
        "review_opinion": "보존 가치 검토함", "keep_numbers": f"{kept['document_number']}\n일반-1999-0", "extend_years": 3})
    assert city.instance(case)["data"]["review_problems"] == ["일반-1999-0: 목록에 없는 문서번호입니다."]
    city.complete("planning.staff", case, "review_disposal", {
        "review_opinion": "민원 처리 결과는 분쟁 가능성이 있어 3년 더 보존", "keep_numbers": kept["document_number"],
        "extend_years": 3})
    # the chief returns it once, with a reason, then approves
    city.complete("planning.chief", case, "approve_disposal", {"approval_decision": "반려",
                                                               "approval_comment": "보존 사유를 구체적으로"})
    assert city.instance(case)["data"]["status"] == "재심의"
    city.complete("planning.staff", case, "review_disposal", {
        "review_opinion": "민원 처리 결과는 소송 제기 기간(3년) 동안 보존", "keep_numbers": kept["document_number"],
        "extend_years": 3})
    city.complete("planning.chief", case, "approve_disposal", {"approval_decision": "승인"})
    city.work()  # the disposal is carried out by the worker
    done = city.instance(case)
    assert done["status"] == "completed"
    assert (done["data"]["disposed"], done["data"]["kept"]) == ([short["document_number"]],
                                                               [kept["document_number"]])

    gone = record(city, "roads.staff", short["record_id"]).json()
    assert (gone["status"], gone["content"], gone["title"]) == ("폐기", None, "2026 보도 정비 일정 통보")
    assert gone["disposed_at"] is not None
    still = record(city, "roads.staff", kept["record_id"]).json()
    assert (still["status"], still["retain_until"]) == ("보존", "2030-12-31")
    assert still["content"]["body"] == "시청 앞 보도를 정비합니다."
    for untouched in (longer, forever):
        assert record(city, "roads.staff", untouched["record_id"]).json()["status"] == "보존"
    assert register(city, "auditor", status="경과")["total"] == 0
    assert [i["id"] for i in register(city, "auditor", status="폐기")["items"]] == [short["record_id"]]

    # each document's own trail tells what became of its record, and who decided
    disposed = [r for r in city.trail(short["id"]) if r["action"] == "record.disposed"]
    assert len(disposed) == 1 and disposed[0]["actor"] == "planning.chief"
    assert disposed[0]["detail"]["disposal_case"] == case
    extended = [r for r in city.trail(kept["id"]) if r["action"] == "record.retention_extended"]
    assert extended[0]["detail"]["after"]["retain_until"] == "2030-12-31"
    # the disposal's own trail: who reviewed, who approved, and the worker carrying it out
    trail = city.trail(case)
    assert [(r["element_id"], r["actor"]) for r in trail if r["action"] == "task.completed"
            and r["element_id"] in ("review_disposal", "approve_disposal")] == [
        ("review_disposal", "planning.staff"), ("review_disposal", "planning.staff"),
        ("approve_disposal", "planning.chief"), ("review_disposal", "planning.staff"),
        ("approve_disposal", "planning.chief")]
    assert any(r["action"] == "job.completed" and r["element_id"] == "carry_out" for r in trail)
    assert city.verified()


def test_a_disposal_review_with_nothing_past_retention_ends_at_once(city: City) -> None:
    approved(city, retention="1년")
    case = city.api.start("planning.staff", "records_disposal", {})["id"]
    city.work()
    done = city.instance(case)
    assert done["status"] == "completed" and done["data"]["candidates"] == []
    assert done["data"]["status"] == "대상 없음"
    assert register(city, "auditor", status="보존")["total"] == 1


# -- the pages -----------------------------------------------------------------------------------


def test_the_register_page_withholds_a_closed_title_from_outsiders_and_the_record_page_refuses_them(
        city: City) -> None:
    closed = approved(city, title="민원인 개인정보 처리", disclosure="비공개", disclosure_ground="제6호")
    approved(city, title="보도 정비 계획", retention="10년")
    client = city.api.client
    log_in(client, "welfare.staff")
    page = client.get("/records")
    assert page.status_code == 200
    assert "기록물 등록대장" in page.text and "보도 정비 계획" in page.text
    assert "민원인 개인정보 처리" not in page.text and "(비공개 기록물)" in page.text
    assert "비공개 제6호" in page.text and "김주무관" in page.text and "roads.staff" not in page.text
    assert "2036-12-31까지" in page.text
    found = client.get("/records", params={"retention": "10년"}).text
    assert "보도 정비 계획" in found and "(비공개 기록물)" not in found
    refused = client.get(f"/records/{closed['record_id']}")
    assert refused.status_code == 403
    assert "결재에 참여한 사람과 그 부서장·국장만 읽을 수 있습니다" in refused.text
    assert "홍길동" not in refused.text and "개인정보 처리" not in refused.text
    english = client.get("/records?lang=en").text
    assert "Records register" in english and "(closed record)" in english and "10 years" in english

    client.cookies.clear()
    log_in(client, "safety.director")  # the line of 도로과, where it was drafted
    shown = client.get(f"/records/{closed['record_id']}")
    assert shown.status_code == 200
    assert "민원인 개인정보 처리" in shown.text and "시청 앞 보도를 정비합니다." in shown.text
    assert "정보공개법 제9조 제1항 제6호" in shown.text and "김과장" in shown.text
    client.cookies.clear()
