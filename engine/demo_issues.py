"""The demo city hall's 현안사항 and the mayor's 관심사항 over the last months: issues registered by
departments and the planning office, updated on their rhythm (some late, so their heads were told),
some resolved; items the mayor marked, reported on by their departments, some closed.

The cases are data here; ``engine.demo`` plays them with its calendar and desk (``stories``)."""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

Story = Generator[datetime, None, None]


@dataclass(frozen=True)
class Issue:
    title: str
    summary: str
    registrar: str            # login of who registers it (a department's officer or the planning office)
    lead: str                 # lead department
    support: tuple[str, ...]
    urgency: str              # 긴급 / 중요 / 보통
    age: int                  # working days ago it was registered
    due_in: int               # days from today to its target date (negative: already past)
    updates: tuple[tuple[int, str], ...]  # (working days after the previous step, what was reported)
    result: str = ""          # resolved with this result after the last update
    related: tuple[str, ...] = ()


ISSUES = [
    Issue("세류 지하차도 침수 우려", "집중호우 때마다 세류 지하차도 배수펌프 용량이 부족해 통행을 막아야 합니다.",
          "roads.staff", "도로과", ("교통정책과",), "중요", 60, -10,
          ((4, "배수펌프 용량 검토 용역 착수"), (5, "펌프 2대 증설 설계 완료, 예산 전용 협의"),
           (6, "증설 공사 발주"), (5, "증설 공사 준공, 시운전 완료")),
          result="배수펌프 2대 증설로 시간당 80mm 강우까지 통행 유지. 우기 전 점검 일정에 포함.",
          related=("현장 보고 · 세류 지하차도 배수구 막힘",)),
    Issue("겨울철 한파 쉼터 부족", "기록적 한파 예보에 비해 경로당 한파 쉼터가 북부권에 부족합니다.", "planning.staff",
          "복지정책과", ("환경정책과",), "긴급", 12, 20,
          ((1, "북부권 경로당 14곳 현황 조사"), (1, "민간 시설 6곳 쉼터 지정 협의"),
           (2, "쉼터 6곳 추가 지정, 안내문 배포")),
          related=("지시사항 · 한파 취약계층 보호 대책",)),
    Issue("광교 신도시 버스 배차 간격 민원", "출근 시간대 광교 신도시 버스 배차 간격이 20분을 넘어 민원이 잇따릅니다.",
          "traffic.staff", "교통정책과", (), "중요", 35, 30,
          ((5, "운수사 2곳과 증차 협의 시작"), (5, "출근 시간대 2대 증차 합의"),
           (9, "증차 운행 시작, 배차 간격 12분"))),
    Issue("재활용 선별장 처리 용량 초과", "연말 택배 물량 증가로 선별장 반입량이 처리 용량의 130%입니다.",
          "recycling.staff", "자원순환과", ("환경정책과",), "중요", 18, 25,
          ((5, "야간 선별 인력 8명 추가 투입"), (11, "민간 위탁 선별장 임시 계약 검토"))),
    Issue("하천 수질 악화 (서호천)", "서호천 하류 BOD가 기준을 넘었습니다. 상류 오수 유입이 의심됩니다.",
          "environment.staff", "환경정책과", ("도로과",), "보통", 40, -3,
          ((10, "상류 오수관 CCTV 조사"), (10, "불량 연결 3곳 확인, 정비 설계")),
          related=("현장 보고 · 서호천 악취",)),
    Issue("스쿨존 불법 주정차 단속 인력 부족", "신학기 대비 초등학교 주변 단속 인력이 부족합니다.", "planning.staff",
          "교통정책과", ("도로과",), "보통", 8, 60, ()),
    Issue("노후 보도블록 일제 정비", "구도심 보도블록 파손 신고가 석 달 새 두 배가 되었습니다.", "roads.lead",
          "도로과", (), "보통", 70, -20,
          ((10, "구도심 12개 구간 조사"), (10, "우선 정비 5개 구간 선정"), (10, "1단계 정비 완료")),
          result="우선 5개 구간 정비 완료. 나머지 7개 구간은 내년 본예산에 반영."),
    Issue("독거노인 고독사 예방 체계", "최근 두 달 사이 고독사 2건. 안부 확인 체계 보강이 필요합니다.", "welfare.staff",
          "복지정책과", (), "긴급", 25, -5,
          ((1, "고위험 가구 120곳 긴급 방문"), (1, "스마트 플러그 설치 대상 선정"),
           (2, "통장 협의체 안부 확인 주 2회로 확대"),
           (3, "스마트 플러그 80가구 설치")),
          result="고위험 가구 전수 방문과 스마트 플러그 80가구 설치로 안부 확인 체계 마련."),
]


@dataclass(frozen=True)
class Interest:
    subject: str
    kind: str                 # 주제 / 장소 / 사건
    note: str
    department: str
    rhythm: str               # 매주 / 격주 / 매월
    age: int
    reports: tuple[tuple[int, str], ...]
    place: str = ""
    closing: str = ""         # closed by the mayor with this note after the last report


INTERESTS = [
    Interest("수원천 산책로 야간 조명", "장소", "어두운 구간과 정비 계획을 알려 주세요.", "도로과", "매주", 30,
             ((5, "어두운 구간 4곳 확인"), (5, "LED 24기 교체 발주"), (5, "교체 완료, 주민 만족도 조사 중")),
             place="수원천 매교~지동교 구간", closing="잘 마무리되었습니다. 보고는 그만 받겠습니다."),
    Interest("지동시장 주차 민원", "주제", "주말 주차난 대책의 진행을 보고해 주세요.", "교통정책과", "격주", 45,
             ((10, "공영주차장 30면 추가 부지 검토"), (10, "부지 확정, 설계 착수"), (10, "내년 3월 착공 예정"))),
    Interest("한파 취약계층 보호", "주제", "한파 쉼터와 방문 현황을 매주 알려 주세요.", "복지정책과", "매주", 15,
             ((5, "쉼터 6곳 추가 지정"), (5, "방문 대상 320가구 중 290가구 방문"))),
    Interest("서호천 수질", "장소", "수질 측정 결과와 원인 조사를 보고해 주세요.", "환경정책과", "매월", 50,
             ((20, "BOD 기준 초과 지점 2곳"), (20, "불량 연결 3곳 정비 설계"))),
    Interest("재활용 선별장 운영", "사건", "처리 용량 초과가 해소될 때까지 보고해 주세요.", "자원순환과", "격주", 10,
             ((6, "야간 선별 인력 투입으로 반입량 처리율 110%"),)),
]


def _issue(scene: Any, desk: Any, people_of: Callable[[str], tuple[str, str, str]], issue: Issue) -> Story:
    yield scene.ago(issue.age)
    case = desk.start(issue.registrar, "pending_issue", {})
    yield scene.later(minutes=scene.rng.randint(5, 30))
    desk.act(issue.registrar, case, "register_issue", {
        "title": issue.title, "summary": issue.summary, "lead_department": issue.lead,
        "support_departments": [d for d in issue.support if d != issue.lead], "urgency": issue.urgency,
        "due_on": scene.day_in(issue.due_in).isoformat(), "related_cases": [{"case": c} for c in issue.related]})
    _, lead, officer = people_of(issue.lead)
    for number, (after, text) in enumerate(issue.updates):
        yield scene.later(after)
        last = number == len(issue.updates) - 1
        desk.act(officer if number % 2 else lead, case, "update_issue",
                 {"status_report": text, "resolved": bool(issue.result) and last})
    if issue.result:
        yield scene.later(1)
        desk.act(lead, case, "resolve_issue", {"result": issue.result, "resolved_on": scene.today()})


def _interest(scene: Any, desk: Any, people_of: Callable[[str], tuple[str, str, str]], item: Interest) -> Story:
    yield scene.ago(item.age)
    case = desk.start("mayor", "interest", {})
    yield scene.later(minutes=scene.rng.randint(3, 15))
    marked: dict[str, Any] = {"subject": item.subject, "kind": item.kind, "note": item.note,
                              "department": item.department, "rhythm": item.rhythm}
    if item.place:
        marked["place"] = item.place
    desk.act("mayor", case, "mark_interest", marked)
    _, lead, _ = people_of(item.department)
    for after, text in item.reports:
        yield scene.later(after)
        desk.act(lead, case, "report_interest", {"report": text})
    if item.closing:
        yield scene.later(1)
        desk.act("mayor", case, "close_interest", {"closing_note": item.closing})


def stories(scene: Callable[[str], Any], people_of: Callable[[str], tuple[str, str, str]]) -> list[Story]:
    """The stories of every demo issue and item of interest; ``scene(name)`` gives each its view of the
    calendar (``scene.history`` is the desk its people act at)."""
    told: list[Story] = []
    for issue in ISSUES:
        at = scene(f"pending_issue:{issue.title}")
        told.append(_issue(at, at.history, people_of, issue))
    for item in INTERESTS:
        at = scene(f"interest:{item.subject}")
        told.append(_interest(at, at.history, people_of, item))
    return told
