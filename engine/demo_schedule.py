"""The demo mayor's schedule (단체장 일정): what the 수행비서 puts on it, week by week, as data.

Each working day has two or three entries drawn from the kinds of day a city's mayor has —
간부회의 on Monday mornings, field visits to the places of the demo's directives and reports,
events, interviews (some private) — with the colleagues and guests who attend. ``engine.demo``
plays the weeks: every Friday afternoon the secretary enters the week after, and on the last
working day before today the two weeks ahead.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time


@dataclass(frozen=True)
class Slot:
    kind: str
    title: str
    place: str
    minutes: int
    attendees: tuple[str, ...] = ()
    guests: tuple[str, ...] = ()
    private: bool = False
    notes: str = ""


MONDAY_MEETING = Slot("회의", "확대간부회의", "시청 본관 4층 대회의실", 90,
                      ("vice.mayor", "planning.chief", "safety.director", "welfare.director"),
                      notes="주간 업무 보고, 지시사항 이행 점검")

SLOTS = (
    Slot("현장방문", "광교호수공원 산책로 야간 조명 점검", "광교호수공원 입구", 60, ("environment.chief",),
         ("주민자치위원장",)),
    Slot("현장방문", "수원천 하천 정비 현장 확인", "수원천 매교~지동교 구간", 90,
         ("environment.chief", "environment.lead")),
    Slot("현장방문", "통학로 보도 정비 공사 현장", "매탄초등학교 앞", 60, ("roads.chief",), ("학부모회 대표",)),
    Slot("현장방문", "전통시장 주차장 확충 부지 답사", "팔달문시장 공영주차장", 60, ("traffic.chief",),
         ("상인회장",)),
    Slot("회의", "교통정책 현안 보고", "시장실 소회의실", 60, ("safety.director", "traffic.chief"),
         notes="버스노선 개편안과 출퇴근 시간대 신호 체계"),
    Slot("회의", "복지 사각지대 발굴 대책 회의", "시장실 소회의실", 60, ("welfare.director", "welfare.chief")),
    Slot("회의", "시민약속사업 분기 점검", "시청 본관 3층 중회의실", 90, ("planning.chief", "planning.lead")),
    Slot("회의", "재활용 선별장 운영 개선 보고", "시장실 소회의실", 45, ("recycling.chief",)),
    Slot("행사", "청소년 정책 토론회 축사", "수원컨벤션센터", 60, (), ("청소년의회 의장",)),
    Slot("행사", "어르신 일자리 박람회 개막식", "수원시 종합운동장 실내체육관", 60, ("welfare.chief",)),
    Slot("행사", "지역 상생 협약식", "시청 본관 1층 로비", 45, ("planning.chief",), ("수원상공회의소 회장",)),
    Slot("면담", "시민단체 대표 면담", "시장실", 45, (), ("수원환경운동연합 대표",)),
    Slot("면담", "도의원 간담회", "시장실", 60, ("planning.chief",), ("경기도의회 의원 2명",)),
    Slot("면담", "인사 관련 면담", "시장실", 30, ("vice.mayor",), private=True),
    Slot("면담", "언론 인터뷰", "시장실", 45, (), ("지역 일간지 기자",)),
)

TIMES = (time(9, 30), time(11, 0), time(14, 0), time(16, 0))
WEEKS_BACK = 8

# What the mayor said at the Monday 확대간부회의, written down by the 비서실 after the meeting.
REMARKS = (
    ("겨울철 버스정류장에 온열의자를 늘려 주세요. 어르신 이용이 많은 정류장부터 하고, 설치 전후 이용 불편을 "
     "직접 들어 보십시오.", ("교통", "복지")),
    ("수원천 산책로 야간 조명이 어둡다는 민원이 계속됩니다. 환경정책과는 이번 달 안에 현장을 점검하고 "
     "보완 계획을 보고해 주세요.", ("환경", "안전")),
    ("전통시장 주차난은 상인회와 함께 풀어야 합니다. 주말 임시 주차장 운영을 검토하십시오.", ("경제", "교통")),
    ("복지 사각지대는 찾아가는 방문으로만 줄일 수 있습니다. 동 행정복지센터와 통장님들의 협력 체계를 "
     "다시 점검해 주세요.", ("복지",)),
    ("재활용 선별장 악취 민원에 대해 주민설명회를 열고, 개선 일정을 주민에게 먼저 알려 드리세요.", ("환경",)),
    ("시민약속사업 가운데 늦어지는 과제는 원인과 대책을 분기 보고 때 분명히 해 주십시오.", ("시정",)),
    ("통학로 안전은 미룰 수 없습니다. 공사 구간마다 안전요원 배치 여부를 확인해 주세요.", ("안전", "교통")),
    ("민원 처리 기한을 넘기지 않도록 부서장이 매주 직접 챙겨 주시기 바랍니다.", ("시정",)),
)
