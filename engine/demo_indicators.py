"""The demo city hall's 시정현황 핵심 지표 over the last months: indicators registered by the planning
office or their departments and confirmed (one sent back for a change first), a value entered after
each month or quarter ends — most on time, some late, so the head was told — judged against the target;
off-target months explained by the department, one indicator raised as a 현안사항, one retired, one
waiting for its department's confirmation, and the latest entry of one still overdue.

The indicators are data here; ``engine.demo`` plays them with its calendar and desk (``stories``)."""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

Story = Generator[datetime, None, None]

OFFICE_CLOSES = time(18, 0)
PROCESS_NAME = "핵심 지표 관리"  # how a case raised from an indicator names its process (the web does the same)


# what a department says when a period falls short, when its indicator has no words of its own
CAUSES = (
    ("계절 요인으로 실적이 일시적으로 낮아졌습니다.", "다음 기간 실적을 보고 원인을 다시 점검합니다."),
)


@dataclass(frozen=True)
class Indicator:
    title: str
    sector: str
    definition: str
    unit: str
    department: str
    direction: str            # 상향 (higher is better) / 하향 (lower is better)
    schedule: str             # 월간 / 분기
    target: float
    source: str
    back: int                 # registered this many months (월간) or quarters (분기) ago
    values: tuple[float, ...]  # its value in each calendar month, January first (분기: each quarter, Q1 first)
    registrar: str = "planning.staff"
    next_year: float | None = None  # next year's target, given at registration
    baseline: float | None = None
    late: tuple[int, ...] = ()  # the periods (by number, from 0) whose value came late: the head was told
    leave_open: bool = False  # the latest period's value is not in yet
    change_asked: str = ""    # the department first asks for a change: the target it was registered with was
    first_target: float | None = None  # this, and the registrar then sets ``target``
    retire_after: int = 0     # retired by the planning office after this many values, with ``retire``
    retire: str = ""
    raise_issue: tuple[str, str] | None = None  # (title, summary) of a 현안 raised at its second shortfall
    notes: dict[int, str] = field(default_factory=dict)  # by calendar month (분기: quarter)
    causes: tuple[tuple[str, str], ...] = CAUSES  # (부진 사유, 개선 대책), one shortfall after another


INDICATORS = [
    Indicator(
        "생활민원 평균 처리기간", "행정",
        "처리를 마친 생활민원(도로 파손, 가로등, 불법 광고물 등)의 접수부터 완료까지 평균 일수",
        "일", "도로과", "하향", "월간", 5.0, "새올 민원처리시스템", back=10,
        values=(4.8, 4.6, 4.9, 5.3, 5.0, 5.6, 6.1, 5.7, 5.2, 4.7, 4.5, 4.6),
        registrar="roads.lead", next_year=4.5, baseline=6.2, late=(3,),
        notes={7: "장마철 도로 파손 민원 집중 (평월 대비 140%)", 8: "포트홀 긴급 보수 1,240건 포함"},
        causes=(("장마철 도로 파손 민원이 평월보다 40% 늘었고 처리 인력 2명이 교육 중이었습니다.",
                 "민원 유형별 처리 지침을 정비하고 단순 보수는 당일 처리합니다."),
                ("포트홀 긴급 보수가 밀려 일반 민원 처리가 늦어졌습니다.",
                 "보수 업체를 한 곳 더 계약해 긴급 보수와 일반 민원을 나눠 맡깁니다."))),
    Indicator(
        "시내버스 정시성", "교통", "정류장 도착 예정 시각 ±3분 안에 도착한 시내버스 운행의 비율",
        "%", "교통정책과", "상향", "월간", 85.0, "버스정보시스템(BIS)", back=9,
        values=(80.4, 82.0, 84.2, 85.6, 86.3, 85.9, 84.4, 83.9, 80.6, 79.9, 79.8, 80.6),
        next_year=87.0, baseline=82.7,
        raise_issue=("시내버스 정시성 저하",
                     "두 달 넘게 시내버스 정시성이 목표(85%)에 못 미칩니다. 운전기사 결원과 "
                     "출근 시간대 정체 구간의 배차를 운수사들과 함께 풀어야 합니다."),
        notes={9: "광교 노선 개편, 정류장 12곳 이전", 10: "잠정치 (BIS 집계 보정 전)"},
        causes=(("광교 노선 개편 뒤 정류장을 옮긴 구간에서 지연이 잦았습니다.",
                 "개편 노선의 시간표를 실제 운행 시간에 맞춰 고칩니다."),
                ("출근 시간대 정체와 운전기사 결원이 겹쳤습니다.",
                 "운수사와 예비 기사 12명을 확보하고 혼잡 구간 배차 간격을 조정합니다."))),
    Indicator(
        "미세먼지 좋음 일수", "환경", "도시대기측정망 4곳 평균 PM10 일평균이 30㎍/㎥ 이하인 날의 수",
        "일", "환경정책과", "상향", "월간", 12, "에어코리아 도시대기측정망", back=9,
        values=(8, 7, 6, 9, 12, 15, 20, 22, 19, 11, 10, 9),
        change_asked="월별 기상 편차가 커서 목표를 월 15일에서 12일로 낮춰 주시기 바랍니다.", first_target=15,
        causes=(("고농도 미세먼지가 국외 유입으로 길게 이어졌습니다.",
                 "비상저감조치 때 공사장 점검과 도로 물청소를 두 배로 늘립니다."),
                ("난방철 대기 정체로 좋음 일수가 줄었습니다.",
                 "노후 경유차 운행 제한 단속과 소규모 사업장 점검을 늘립니다."))),
    Indicator(
        "공공자전거 이용건수", "교통", "공공자전거 '타조' 대여 건수 (월 합계)",
        "건", "교통정책과", "상향", "월간", 130000, "공공자전거 운영시스템", back=8,
        values=(98300, 101500, 128000, 152600, 171900, 163400, 149800, 141200, 158300, 162700, 131900, 104200),
        late=(5,), causes=(("한파와 폭설로 이용이 크게 줄었습니다.",
                             "겨울철 대여소 정비를 앞당기고 출퇴근 시간 이용 쿠폰을 운영합니다."),)),
    Indicator(
        "생활폐기물 재활용률", "환경", "생활폐기물 발생량 중 재활용된 양의 비율",
        "%", "자원순환과", "상향", "월간", 62.0, "자원순환정보시스템", back=8,
        values=(61.2, 61.5, 62.4, 62.8, 63.0, 62.7, 61.9, 61.4, 62.6, 63.1, 63.4, 62.2),
        registrar="recycling.lead", leave_open=True),
    Indicator(
        "독거노인 안부 확인율", "복지", "주 1회 이상 안부를 확인한 독거노인 가구의 비율",
        "%", "복지정책과", "상향", "월간", 95.0, "노인맞춤돌봄 관리시스템", back=7,
        values=(93.1, 93.8, 94.6, 95.6, 96.2, 97.0, 96.8, 97.3, 97.5, 94.1, 97.4, 96.9),
        registrar="welfare.lead"),
    Indicator(
        "일자리 창출 수", "경제·일자리", "시 일자리 사업과 기업 유치로 새로 생긴 일자리 (분기 합계)",
        "명", "기획조정실", "상향", "분기", 1500, "일자리 공시제 실적 집계", back=3,
        values=(1420, 1610, 1555, 1490),
        causes=(("협력사 두 곳의 채용 일정이 다음 분기로 미뤄졌습니다.",
                 "일자리박람회를 앞당기고 중소기업 채용 장려금을 조기 집행합니다."),)),
    Indicator(
        "청년 고용률", "경제·일자리", "만 15–29세 인구 중 취업자의 비율 (지역고용조사 시군 추정)",
        "%", "복지정책과", "상향", "분기", 45.0, "통계청 지역고용조사", back=3,
        values=(44.3, 45.1, 46.2, 45.8), baseline=43.9),
    Indicator(
        "종이 민원서류 발급 건수", "행정", "무인민원발급기와 창구에서 종이로 발급한 민원서류 수 (월 합계)",
        "건", "기획조정실", "하향", "월간", 42000, "민원서류 발급 통계", back=7,
        values=(46000, 44100, 43800, 41200, 39800, 38500, 37900, 37200, 36800, 36100, 35900, 35400),
        retire_after=4, retire="전자증명서 발급 비율 지표로 바꿉니다. 더 관리하지 않습니다."),
]

# registered two working days ago; its department has not confirmed it yet
WAITING = Indicator(
    "교통사고 사망자 수", "안전", "시내 교통사고 발생 30일 안 사망자 수 (분기 합계)",
    "명", "교통정책과", "하향", "분기", 4, "도로교통공단 교통사고분석시스템", back=0, values=())


def _first_day(today: date, months_back: int) -> date:
    """The 10th of the month ``months_back`` months before ``today``'s."""
    month = today.month - 1 - months_back
    return date(today.year + month // 12, month % 12 + 1, 10)


def _typed(number: float) -> float:
    """A number as a person types it on the form: 85, not 85.0."""
    return int(number) if float(number).is_integer() else number


def _registration(item: Indicator, today: date, target: float) -> dict[str, Any]:
    form: dict[str, Any] = {
        "title": item.title, "sector": item.sector, "definition": item.definition, "unit": item.unit,
        "owner_department": item.department, "direction": item.direction, "schedule": item.schedule,
        "target": _typed(target), "source": item.source,
        "period_targets": [{"period": str(today.year + 1), "target": _typed(item.next_year)}] if item.next_year else []}
    if item.baseline is not None:
        form["baseline"] = _typed(item.baseline)
    return form


def _value_of(item: Indicator, period: str) -> tuple[float, str]:
    """The value of ``period`` (2026-07, 2026-Q3) and its note."""
    part = period[5:]
    index = int(part[1:]) if part.startswith("Q") else int(part)
    return _typed(item.values[index - 1]), item.notes.get(index, "")


def _indicator(scene: Any, desk: Any, people_of: Callable[[str], tuple[str, str, str]], item: Indicator,
               cases: dict[str, str]) -> Story:
    head, lead, officer = people_of(item.department)
    months = 3 if item.schedule == "분기" else 1
    today = desk.city.today(desk.now)
    yield scene.on(_first_day(today, item.back * months)) if item.back else scene.ago(2)
    case = cases[item.title] = desk.start(item.registrar, "indicator", {})
    yield scene.later(minutes=scene.rng.randint(5, 40))
    desk.act(item.registrar, case, "register_indicator", _registration(item, today, item.first_target or item.target))
    if not item.values:
        return  # its department has yet to confirm it
    yield scene.later(1)
    if item.change_asked:
        desk.act(lead, case, "confirm_indicator", {"confirmation": "조정 요청", "confirmation_note": item.change_asked})
        yield scene.later(1)
        desk.act(item.registrar, case, "register_indicator", _registration(item, today, item.target))
        yield scene.later(1)
    desk.act(head, case, "confirm_indicator", {"confirmation": "확인", "confirmation_note": ""})
    shortfalls = 0
    for number in range(item.retire_after or 24):  # as many periods as the calendar has gone
        data = desk.data(case)
        opens = desk.city.day(datetime.fromisoformat(data["entry_opens_at"]))
        if item.leave_open and desk.moment(opens + timedelta(days=28 * months), OFFICE_CLOSES) > desk.horizon:
            return  # the latest period's value is not in yet
        value, note = _value_of(item, data["period"])
        delay = scene.rng.randint(6, 7) if number in item.late else scene.rng.randint(0, 3)
        yield scene.on(desk.working_day(opens, delay))
        desk.act(officer if number % 3 else lead, case, "enter_value",
                 {"value": value, "source": item.source, "note": note})
        if desk.data(case)["status"] != "미달":
            continue
        cause, measures = item.causes[shortfalls % len(item.causes)]
        shortfalls += 1
        yield scene.later(scene.rng.randint(1, 3))
        desk.act(lead, case, "explain_shortfall", {"cause": cause, "measures": measures})
    if item.retire:
        yield scene.later(3)
        desk.act("planning.chief", case, "retire_indicator", {"retire_reason": item.retire})


ISSUE_UPDATES = (
    "운수사 3곳과 출근 시간대 배차 조정 협의를 시작했습니다.",
    "예비 운전기사 8명 채용 공고를 냈습니다.",
    "광교 노선 정류장 2곳을 원위치로 되돌리는 안을 도로과와 협의 중입니다.",
    "혼잡 구간 버스 우선 신호 시범 운영을 준비하고 있습니다.",
    "채용한 예비 기사 6명이 배치되었습니다.",
)


def _second_shortfall(item: Indicator, today: date) -> date | None:
    """The day the value of the indicator's second off-target period is asked for (its period's end),
    judged as ``judgement.dmn`` judges: more than 5% short of the target (monthly indicators)."""
    if item.schedule != "월간":
        return None
    first = _first_day(today, item.back)
    missed = 0
    for number in range(item.back):
        month = first.month - 1 + number
        year = first.year + month // 12
        target = item.next_year if item.next_year and year > today.year else item.target
        value = item.values[month % 12]
        gap = target - value if item.direction == "상향" else value - target
        if gap * 100 / abs(target) > 5:
            missed += 1
            if missed == 2:
                return date(year + (month + 1) // 12, (month + 1) % 12 + 1, 1)
    return None


def _raised_issue(scene: Any, desk: Any, people_of: Callable[[str], tuple[str, str, str]], item: Indicator,
                  issue: tuple[str, str], cases: dict[str, str]) -> Story:
    """A week after the indicator's second shortfall the head of its department raises a 현안사항 from the
    indicator's page, as the web does, and the department reports on it weekly."""
    ends = _second_shortfall(item, desk.city.today(desk.now))
    if ends is None:
        return
    head, lead, _ = people_of(item.department)
    yield scene.on(desk.working_day(ends, 8))
    title, summary = issue
    raised = desk.start(head, "pending_issue", {
        "title": f"{PROCESS_NAME} · {item.title}",
        "raised_from": {"instance_id": cases[item.title], "id": "", "title": item.title, "process": PROCESS_NAME}})
    yield scene.later(minutes=scene.rng.randint(5, 20))
    desk.act(head, raised, "register_issue", {
        "title": title, "summary": summary, "lead_department": item.department, "support_departments": ["도로과"],
        "urgency": "중요", "due_on": scene.day_in(75).isoformat(),
        "related_cases": desk.data(raised)["related_cases"]})
    for update in ISSUE_UPDATES:  # reported on the issue's weekly rhythm, as far as the calendar goes
        yield scene.later(scene.rng.randint(3, 5))
        desk.act(lead, raised, "update_issue", {"status_report": update, "resolved": False})


def stories(scene: Callable[[str], Any], people_of: Callable[[str], tuple[str, str, str]]) -> list[Story]:
    """The stories of every demo indicator and of the issue one raises; ``scene(name)`` gives each its view
    of the calendar (``scene.history`` is the desk its people act at)."""
    cases: dict[str, str] = {}  # each indicator's case, by title, once its story has registered it
    told: list[Story] = []
    for item in [*INDICATORS, WAITING]:
        at = scene(f"indicator:{item.title}")
        told.append(_indicator(at, at.history, people_of, item, cases))
        if item.raise_issue:
            raised = scene(f"indicator-issue:{item.title}")
            told.append(_raised_issue(raised, raised.history, people_of, item, item.raise_issue, cases))
    return told
