"""What happened in the demo city hall over the last months, as data: the mayor's directives, the
citizen pledges, the field reports from the street, the approval documents and the citizens'
suggestions — each with its people, its words and how far it has come (its *fate*).

``engine.demo`` plays these cases through the engine's commands, as their people, on a clock
moved back in time. Ages are in working days before the last working day; deadlines in calendar
days from today (negative: already past).
"""

from __future__ import annotations

from dataclasses import dataclass, field

# -- the organisation as the cases name it ------------------------------------------------------

DEPARTMENT_CODES = {
    "도로과": "roads", "교통정책과": "traffic", "복지정책과": "welfare", "환경정책과": "environment",
    "자원순환과": "recycling", "기획조정실": "planning",
}
BUREAU_OF = {
    "도로과": "안전교통국", "교통정책과": "안전교통국", "복지정책과": "복지환경국", "환경정책과": "복지환경국",
    "자원순환과": "복지환경국",
}


# -- 지시사항 (directive) -------------------------------------------------------------------------

# How far a directive has come: the step it waits for, or how it ended.
CLASSIFY, REASSIGN, ACCEPT, PLAN = "분류·배정", "재지정 요청", "접수", "이행계획"
REPORT, REVIEW, CONTINUE, REINSTRUCT = "추진", "완료보고 검토", "계속관리", "재지시"
ACKNOWLEDGE, INFEASIBLE, CLOSED = "추진불가 확인", "추진불가", "종결"


@dataclass(frozen=True)
class Directive:
    title: str
    content: str
    department: str
    plan: str
    progress: tuple[str, ...]  # the progress reports, in order; the last one finishes the work
    completion: str
    fate: str
    age: int  # working days since it was given
    deadline: int  # calendar days from today
    reports: int = 0  # progress reports filed, for the fates still under way (else all of them)
    source: str = "간부회의"
    issuer: str = "mayor"
    term: str = "단기"
    support: tuple[str, ...] = ()
    wrong_department: str = ""  # first assigned here, which asks for reassignment ...
    reassignment: str = ""  # ... saying why
    review: str = ""  # the planning office's comment at the review (or why it is not feasible)
    place: int = -1  # given on site: where (an index into PLACES) ...
    photo: str = ""  # ... and a photo of what the mayor saw (a field report category's picture)


DIRECTIVES: list[Directive] = [
    # waiting for the planning office to classify and assign
    Directive("전통시장 주차난 해소 방안 마련",
              "명절마다 되풀이되는 지동·못골시장 주변 주차난을 해소할 방안을 마련할 것. 인근 학교·교회 주차장 "
              "개방과 임시 셔틀 운행을 함께 검토하여 보고 바람.",
              "교통정책과", "", (), "", CLASSIFY, age=1, deadline=30),
    Directive("출퇴근 시간 광교중앙역 환승 혼잡 완화",
              "광교중앙역 환승 구간의 출퇴근 혼잡이 심하다는 민원이 계속됨. 버스 배차 간격 조정과 "
              "안내 인력 배치 방안을 검토할 것.",
              "교통정책과", "", (), "", CLASSIFY, age=1, deadline=25, source="모바일"),
    Directive("겨울철 한파 쉼터 운영 점검",
              "한파특보 발령에 대비하여 경로당·주민센터 한파 쉼터의 난방기 작동 상태와 운영 시간을 "
              "점검하고, 취약계층 안내 문자를 발송할 것.",
              "복지정책과", "", (), "", CLASSIFY, age=2, deadline=14, issuer="vice.mayor"),
    # assigned to the wrong department, which asked for another
    Directive("하천변 산책로 야간 조명 개선",
              "수원천·원천리천 산책로 야간 조명이 어둡다는 의견이 많음. 조도 기준에 맞게 조명을 보강하고 "
              "CCTV 사각지대를 함께 점검할 것.",
              "도로과", "", (), "", REASSIGN, age=6, deadline=40, wrong_department="환경정책과", source="현장",
              reassignment="가로등과 보안등 시설 관리는 도로과 소관입니다. 도로과로 다시 배정해 주십시오.",
              place=10, photo="가로등"),
    # waiting for the department to accept
    Directive("스쿨존 안전시설 일제 점검",
              "겨울방학 전까지 관내 어린이보호구역의 과속방지턱, 노란 신호등, 방호울타리 상태를 "
              "전수 점검하고 미비점은 즉시 보완할 것.",
              "교통정책과", "", (), "", ACCEPT, age=2, deadline=21, support=("도로과",)),
    Directive("무단투기 상습지역 관리 강화",
              "주택가 무단투기 상습지역 20곳을 지정하여 이동식 CCTV와 계도 현수막을 설치하고, "
              "주민과 함께하는 클린 지킴이 활동을 추진할 것.",
              "자원순환과", "", (), "", ACCEPT, age=3, deadline=35),
    Directive("복지 사각지대 위기가구 발굴",
              "단전·단수·건강보험료 체납 정보를 활용한 위기가구 발굴을 강화하고, 통장·집배원과 연계한 "
              "제보 체계를 정비할 것.",
              "복지정책과", "", (), "", ACCEPT, age=4, deadline=45, source="말씀"),
    # accepted, the action plan is due
    Directive("겨울철 제설 대책 수립",
              "기습 폭설에 대비하여 제설 취약구간(고갯길·교량·지하차도 진입로)별 제설함과 염화칼슘 "
              "비축 현황을 점검하고, 읍면동 제설 책임제를 운영할 것.",
              "도로과", "", (), "", PLAN, age=4, deadline=20),
    Directive("공공자전거 거치대 정비",
              "공공자전거 거치대 주변 방치 자전거와 파손 거치대를 정비하고, 이용이 많은 역세권에 "
              "거치대를 추가 설치할 것.",
              "교통정책과", "", (), "", PLAN, age=5, deadline=50, source="모바일"),
    Directive("음식물 쓰레기 감량 시범사업",
              "공동주택 3개 단지에서 음식물 쓰레기 RFID 종량기 시범사업을 추진하고 감량 효과를 "
              "분석하여 확대 여부를 보고할 것.",
              "자원순환과", "", (), "", PLAN, age=7, deadline=60),
    # under way, reporting progress
    Directive("어두운 골목길 가로등 정비",
              "여성 안심귀갓길과 주택가 골목 중 조도가 낮은 구간을 조사하여 LED 가로등으로 교체하고 "
              "고장 가로등은 48시간 안에 수리하는 체계를 만들 것.",
              "도로과",
              "1단계 조도 조사(2주), 2단계 LED 교체 공사(4주), 3단계 고장 신고 48시간 처리 체계 운영",
              ("안심귀갓길 12개 구간 조도 조사를 마쳤습니다. 기준 미달 구간은 5곳입니다.",
               "기준 미달 5개 구간 중 3곳의 LED 교체를 마쳤습니다.",
               "나머지 2곳 교체 공사를 발주했습니다. 고장 신고 접수 창구를 120 콜센터로 일원화했습니다.",
               "교체 공사를 모두 마치고 48시간 처리 체계를 운영 중입니다."),
              "안심귀갓길 12개 구간 중 기준 미달 5곳의 LED 교체 완료, 고장 가로등 48시간 내 수리 체계 운영",
              REPORT, age=14, deadline=20, reports=2, source="현장", place=16, photo="가로등"),
    Directive("버스정류장 온열의자 설치",
              "겨울철 대기 시간이 긴 버스정류장 50곳에 온열의자를 설치할 것. 전기 인입이 어려운 곳은 "
              "태양광 방식을 검토할 것.",
              "교통정책과",
              "설치 대상 정류장 선정(1주) → 설치 업체 계약(2주) → 설치 및 시험 가동(3주)",
              ("이용객 수와 대기 시간을 기준으로 설치 대상 50곳을 선정했습니다.",
               "설치 업체와 계약을 맺었습니다. 전기 인입이 어려운 8곳은 태양광 방식으로 합니다.",
               "50곳 중 32곳 설치를 마쳤습니다.",
               "50곳 설치와 시험 가동을 모두 마쳤습니다."),
              "버스정류장 50곳 온열의자 설치 완료(태양광 8곳 포함)",
              REPORT, age=18, deadline=28, reports=3, support=("도로과",)),
    Directive("노인 일자리 사업 확대",
              "내년도 노인 일자리 사업 규모를 올해보다 10% 이상 늘리고, 공익형 외에 사회서비스형 "
              "일자리를 발굴할 것.",
              "복지정책과",
              "수요 조사 → 사회서비스형 일자리 발굴 → 내년도 예산 반영",
              ("동 행정복지센터를 통해 참여 희망 어르신 수요를 조사했습니다(2,140명).",
               "사회서비스형 일자리 6개 분야 380개를 발굴했습니다."),
              "노인 일자리 10% 확대 계획 수립 및 내년도 예산 반영",
              REPORT, age=11, deadline=40, reports=1),
    Directive("미세먼지 저감 살수차 운행 확대",
              "고농도 미세먼지 계절(12~3월)에 대비하여 주요 간선도로 살수차 운행 횟수를 늘리고 "
              "공사장 주변 도로를 집중 관리할 것.",
              "환경정책과",
              "살수 노선 재편(1주) → 임차 살수차 2대 추가 → 공사장 주변 집중 관리",
              ("간선도로 8개 노선으로 살수 노선을 재편했습니다.",
               "임차 살수차 2대를 추가로 확보했습니다.",
               "공사장 주변 도로 14곳을 집중 관리 구간으로 지정했습니다."),
              "살수차 운행 확대(일 2회 → 3회), 공사장 주변 14곳 집중 관리",
              REPORT, age=15, deadline=35, reports=2),
    Directive("보도 턱 낮춤 정비",
              "휠체어와 유모차 이용에 불편한 보도 턱을 조사하여 낮추고, 점자블록 파손 구간도 함께 "
              "정비할 것.",
              "도로과",
              "교통약자 동선 조사 → 정비 우선순위 결정 → 단계별 정비",
              ("장애인단체와 함께 주요 동선 4km를 조사했습니다. 정비 대상 보도 턱 46곳입니다.",
               "우선순위 1순위 18곳 정비를 마쳤습니다.",
               "2순위 16곳 공사 중입니다."),
              "보도 턱 46곳 정비, 점자블록 파손 구간 22곳 보수",
              REPORT, age=19, deadline=45, reports=3, support=("복지정책과",), source="현장", place=0,
              photo="도로파손"),
    Directive("시내버스 도착정보 안내 확대",
              "버스 도착정보 안내기가 없는 정류장에서 어르신들이 불편을 겪고 있음. 이용객이 많은 정류장부터 "
              "안내기를 설치하고, 설치가 어려운 곳은 QR 안내판을 붙일 것.",
              "교통정책과",
              "정류장별 이용객 분석 → 설치 우선순위 결정 → 안내기 설치와 QR 안내판 부착",
              ("정류장 1,240곳의 이용객을 분석했습니다. 안내기가 없는 곳 중 우선 설치 대상은 86곳입니다.",
               "우선 설치 86곳 중 40곳의 전기 인입 공사를 마쳤습니다."),
              "버스정보안내기 86곳 설치, QR 안내판 310곳 부착",
              REPORT, age=10, deadline=60, reports=1, source="모바일"),
    # past their deadline and still open
    Directive("지하차도 침수 대비 차단시설 점검",
              "집중호우 때 지하차도 침수 사고가 나지 않도록 진입 차단시설과 배수 펌프를 점검하고, "
              "작동 훈련을 실시할 것.",
              "도로과",
              "지하차도 7곳 차단시설·배수펌프 점검 → 작동 훈련 → 미비점 보완",
              ("지하차도 7곳 중 5곳 점검을 마쳤습니다.",
               "배수펌프 2대가 노후되어 교체를 요청했습니다.",
               "교체 예산 확보를 협의 중입니다."),
              "지하차도 7곳 점검, 배수펌프 2대 교체",
              REPORT, age=30, deadline=-9, reports=3),
    Directive("하천 악취 민원 해소",
              "서호천 하류 악취 민원이 여름마다 반복됨. 원인 조사 후 하수관로 오접 정비와 준설을 "
              "추진할 것.",
              "환경정책과",
              "악취 원인 조사 → 오접 하수관로 정비 → 하천 준설",
              ("악취 원인 조사 결과 오접 하수관로 12곳을 찾았습니다.",
               "오접 관로 12곳 중 4곳 정비를 마쳤습니다."),
              "오접 하수관로 12곳 정비, 하천 준설 1.2km",
              REPORT, age=24, deadline=-3, reports=2, source="현장", place=15, photo="환경오염"),
    Directive("폐현수막 재활용 장바구니 제작",
              "선거 뒤 쏟아진 폐현수막을 장바구니와 마대로 재활용하는 사업을 사회적기업과 함께 "
              "추진할 것.",
              "자원순환과",
              "", (), "", PLAN, age=28, deadline=-20),
    # the completion report waits for the planning office's review
    Directive("가로수 병해충 방제",
              "미국흰불나방 피해가 늘고 있음. 주요 가로수길 방제를 실시하고 주민 안내를 철저히 할 것.",
              "환경정책과",
              "피해 조사 → 1차 방제 → 2차 방제",
              ("피해 구간 23km를 조사했습니다.", "1차 방제를 마쳤습니다.",
               "2차 방제를 마치고 피해 재발 여부를 확인했습니다."),
              "가로수길 23km 2차례 방제 완료, 피해 재발 없음",
              REVIEW, age=26, deadline=10),
    Directive("교량 안전 점검 결과 공개",
              "관내 교량 정밀안전점검 결과를 시 누리집에 공개하고, C등급 교량의 보수 계획을 세울 것.",
              "도로과",
              "점검 결과 정리 → 누리집 공개 → C등급 보수 계획 수립",
              ("교량 64곳 점검 결과를 정리했습니다.", "누리집에 공개하고 C등급 3곳 보수 설계를 시작했습니다."),
              "교량 64곳 점검 결과 공개, C등급 3곳 보수 계획 수립",
              REVIEW, age=32, deadline=5),
    # kept under management with a new deadline, re-instructed
    Directive("자전거도로 단절 구간 연결",
              "자전거도로가 끊기는 구간 9곳을 연결하여 출퇴근 자전거 이용을 늘릴 것.",
              "도로과",
              "단절 구간 설계 → 우선 구간 공사 → 나머지 구간 공사",
              ("9곳 설계를 마쳤습니다.", "우선 4곳 공사를 마쳤습니다.", "나머지 5곳 중 2곳 공사를 마쳤습니다."),
              "단절 구간 9곳 중 6곳 연결",
              CONTINUE, age=28, deadline=-5, review="3곳이 남았으니 계속관리하며 새 기한까지 마무리하기 바랍니다."),
    Directive("공영주차장 스마트 안내 시스템",
              "공영주차장 빈자리 정보를 실시간으로 알려주는 안내 시스템을 구축할 것.",
              "교통정책과",
              "대상 주차장 선정 → 감지기 설치 → 안내 앱 연계",
              ("대상 주차장 12곳을 선정했습니다.", "감지기 설치를 마쳤습니다.", "안내 앱 연계를 마쳤습니다."),
              "공영주차장 12곳 실시간 안내 시스템 구축",
              REINSTRUCT, age=26, deadline=20,
              review="전광판 안내가 빠졌습니다. 주요 교차로 전광판에도 빈자리 정보를 표출하기 바랍니다."),
    # long-term: reviewed monthly
    Directive("도심 녹지축 연결 장기 계획",
              "광교산에서 서호공원까지 이어지는 도심 녹지축 연결 계획을 장기 과제로 수립할 것.",
              "환경정책과",
              "기본구상 용역 → 주민 의견 수렴 → 연차별 조성 계획",
              ("기본구상 용역을 발주했습니다.", "주민 설명회 2회를 열었습니다."),
              "",
              REPORT, age=50, deadline=200, reports=2, term="장기", support=("도로과",)),
    Directive("1인 가구 지원 종합계획",
              "늘어나는 1인 가구를 위한 안전·건강·관계망 지원 종합계획을 수립할 것.",
              "복지정책과",
              "실태조사 → 분야별 과제 발굴 → 종합계획 수립",
              ("1인 가구 실태조사(표본 1,500가구)를 마쳤습니다.", "분야별 과제 28개를 발굴했습니다.",
               "전문가 자문회의를 열었습니다."),
              "",
              REPORT, age=65, deadline=180, reports=3, term="장기"),
    # not feasible
    Directive("시청 광장 지하주차장 건설 검토",
              "시청 광장 지하에 공영주차장을 건설하는 방안을 검토할 것.",
              "교통정책과",
              "타당성 조사 → 재원 검토",
              ("타당성 조사 결과 지하 문화재 분포 가능성이 높아 추가 조사가 필요합니다.",
               "문화재 시굴조사 결과 보존 가치가 높은 유구가 확인되었습니다."),
              "문화재 보존 구역으로 지하주차장 건설 불가",
              ACKNOWLEDGE, age=19, deadline=30,
              review="문화재 보존 구역이라 건설할 수 없습니다. 인근 부지 대안은 별도 과제로 검토합니다."),
    Directive("구도심 트램 도입 검토",
              "구도심 교통 활성화를 위해 트램 도입 가능성을 검토할 것.",
              "교통정책과",
              "사전 타당성 검토 → 재원 분석",
              ("사전 타당성 검토 결과 B/C 0.62로 나왔습니다.", "국비 확보가 어렵다는 회신을 받았습니다."),
              "경제성 부족으로 추진 곤란",
              INFEASIBLE, age=80, deadline=-30,
              review="경제성(B/C 0.62)과 재원 여건상 추진할 수 없습니다. 버스 중심 대안을 검토합니다."),
    # closed
    Directive("불법 현수막 일제 정비",
              "도심 주요 교차로의 불법 현수막을 일제 정비하고 상습 게시자에게 과태료를 부과할 것.",
              "교통정책과",
              "일제 정비 → 상습 게시자 과태료 부과 → 지정 게시대 안내",
              ("주요 교차로 불법 현수막 312개를 철거했습니다.", "상습 게시자 14명에게 과태료를 부과했습니다."),
              "불법 현수막 312개 철거, 과태료 14건 부과",
              CLOSED, age=35, deadline=-15),
    Directive("무더위 쉼터 확대 운영",
              "폭염에 대비하여 무더위 쉼터를 은행·편의점까지 늘리고 운영 시간을 밤 9시까지 연장할 것.",
              "복지정책과",
              "민간 쉼터 협약 → 운영 시간 연장 → 안내",
              ("은행·편의점 42곳과 협약을 맺었습니다.", "운영 시간을 밤 9시까지 연장했습니다.",
               "쉼터 지도를 누리집과 앱에 게시했습니다."),
              "무더위 쉼터 186곳 → 228곳, 운영 시간 21시까지 연장",
              CLOSED, age=110, deadline=-70),
    Directive("장마철 배수로 준설",
              "장마 전 도심 배수로와 빗물받이를 일제 준설하여 침수 피해를 예방할 것.",
              "도로과",
              "빗물받이 일제 점검 → 준설 → 덮개 정비",
              ("빗물받이 3,200곳을 점검했습니다.", "막힌 빗물받이 640곳을 준설했습니다.",
               "악취 방지 덮개 120곳을 정비했습니다."),
              "빗물받이 3,200곳 점검, 640곳 준설",
              CLOSED, age=120, deadline=-90, source="현장", place=6, photo="도로파손"),
    Directive("야간 택시 승차난 해소",
              "금요일 심야 시간 인계동 일대 택시 승차난 해소 대책을 마련할 것.",
              "교통정책과",
              "심야 수요 조사 → 개인택시 부제 해제 → 임시 승차대 운영",
              ("금요일 심야 수요를 조사했습니다.", "개인택시 심야 부제를 해제했습니다.",
               "인계동 임시 승차대를 운영하고 있습니다."),
              "심야 택시 공급 23% 증가, 평균 대기 시간 18분 → 7분",
              CLOSED, age=85, deadline=-40, source="모바일"),
    Directive("결식아동 급식카드 가맹점 확대",
              "아동 급식카드 가맹점이 편의점에 치우쳐 있음. 일반 음식점 가맹을 늘릴 것.",
              "복지정책과",
              "가맹점 현황 분석 → 음식점 가맹 모집 → 안내",
              ("가맹점 중 편의점 비율이 71%입니다.", "일반 음식점 130곳을 새로 모집했습니다."),
              "일반 음식점 가맹 130곳 추가(편의점 비율 71% → 48%)",
              CLOSED, age=60, deadline=-20),
    Directive("재활용 선별장 화재 예방 점검",
              "재활용 선별장 화재가 잇따르고 있음. 리튬 배터리 혼입 방지 대책과 소방시설 점검을 "
              "실시할 것.",
              "자원순환과",
              "소방시설 점검 → 배터리 분리배출함 설치 → 작업자 교육",
              ("소방시설 점검을 마쳤습니다.", "폐배터리 분리배출함 300개를 설치했습니다.",
               "작업자 안전교육을 마쳤습니다."),
              "선별장 소방시설 점검, 폐배터리 분리배출함 300개 설치",
              CLOSED, age=50, deadline=-10, source="현장", place=18, photo="쓰레기"),
]


# -- 시민약속사업 (pledge) ------------------------------------------------------------------------

NORMAL, DONE, CONTINUING, PARTIAL, HELD, DROPPED = "정상추진", "완료", "이행후계속추진", "일부추진", "보류", "폐기"
# How the pledge's latest quarterly report stands, when it is not settled.
LATE, CHECKING, SENT_BACK, STATUS_REVIEW = "보고 지연", "검토 중", "보완 요청", "상태 변경 심사"


@dataclass(frozen=True)
class Round:
    """One quarter's report: milestones met by then, what was done, and a status proposed."""

    done: int
    summary: str
    issues: str = ""
    status: str = ""  # a status the department proposes (and the planning office approves)
    reason: str = ""
    sent_back: str = ""  # the planning office first sends it back with this comment
    spent: int = 0  # 원 spent so far


@dataclass(frozen=True)
class Pledge:
    title: str
    category: str
    department: str
    budget: int
    target_year: int
    milestones: tuple[tuple[str, int, str], ...]  # (title, year, target)
    rounds: tuple[Round, ...]  # the two quarters reported (or being reported)
    stops: str = ""  # where the last round stands, when it is not settled


PLEDGES: list[Pledge] = [
    Pledge("생활도로 보행안전 개선", "교통·안전", "도로과", 4_800_000_000, 2028,
           (("보행 위험구간 전수조사", 2026, "120개 구간"), ("보도 신설·확폭", 2027, "18km"),
            ("교통약자 보행환경 정비", 2028, "60곳")),
           (Round(1, "보행 위험구간 120곳 조사를 마치고 우선 정비 구간을 정했습니다.", spent=320_000_000),
            Round(1, "보도 확폭 설계를 마치고 1단계 공사(4.2km)를 발주했습니다.", "우기로 공정이 2주 늦어졌습니다.",
                  spent=910_000_000))),
    Pledge("공원 그늘막 100곳 확충", "환경", "환경정책과", 900_000_000, 2027,
           (("설치 위치 선정", 2026, "100곳"), ("1차 설치", 2026, "50곳"), ("2차 설치", 2027, "50곳")),
           (Round(1, "주민 의견을 받아 설치 위치 100곳을 정했습니다.", spent=40_000_000),
            Round(2, "1차 50곳 설치를 마쳤습니다.", spent=430_000_000))),
    Pledge("어린이 통학로 안전 100% 확보", "교통·안전", "교통정책과", 2_100_000_000, 2027,
           (("통학로 안전진단", 2026, "초등학교 58곳"), ("보도 없는 통학로 해소", 2027, "23곳"),
            ("스마트 횡단보도", 2027, "40곳")),
           (Round(1, "초등학교 58곳 통학로 안전진단을 마쳤습니다.", spent=150_000_000),
            Round(2, "보도 없는 통학로 23곳 중 17곳을 정비했습니다.", spent=1_120_000_000,
                  sent_back="정비 구간별 사진과 공정률을 붙여 주세요."))),
    Pledge("공공자전거 5,000대 확대", "교통·안전", "교통정책과", 6_500_000_000, 2028,
           (("운영 방식 결정", 2026, "민간 위탁"), ("1차 보급", 2027, "2,500대"), ("2차 보급", 2028, "2,500대")),
           (Round(0, "운영 방식을 두고 민간 위탁과 직영을 비교하고 있습니다.", spent=30_000_000),
            Round(1, "민간 위탁으로 정하고 운영사 공모를 준비 중입니다.", spent=60_000_000)),
           stops=LATE),
    Pledge("노인 일자리 1만 개 창출", "복지", "복지정책과", 12_000_000_000, 2028,
           (("사회서비스형 일자리 발굴", 2026, "1,000개"), ("공익형 확대", 2027, "6,000개"),
            ("민간 연계형", 2028, "3,000개")),
           (Round(1, "사회서비스형 일자리 1,040개를 발굴했습니다.", spent=2_400_000_000),
            Round(1, "공익형 일자리 3,200개를 운영 중입니다.", spent=5_100_000_000))),
    Pledge("24시간 아이돌봄센터 설치", "복지", "복지정책과", 3_600_000_000, 2027,
           (("부지 확보", 2026, "2곳"), ("센터 개소", 2027, "2곳")),
           (Round(0, "후보 부지 4곳을 검토했습니다.", spent=20_000_000),
            Round(0, "부지 매입 협의가 결렬되어 1곳만 확보했습니다.", "나머지 1곳은 공공청사 복합화로 검토합니다.",
                  status=PARTIAL, reason="부지 1곳 확보가 지연되어 일부만 추진합니다.", spent=1_300_000_000))),
    Pledge("생활폐기물 30% 감량", "환경", "자원순환과", 2_700_000_000, 2028,
           (("감량 목표 관리제", 2026, "전 동 시행"), ("재활용 정거장 확대", 2027, "200곳"),
            ("감량률 달성", 2028, "30%")),
           (Round(1, "44개 동 모두 감량 목표 관리제를 시행했습니다.", spent=210_000_000),
            Round(1, "재활용 정거장 120곳을 운영 중입니다. 감량률은 12%입니다.", spent=880_000_000)),
           stops=CHECKING),
    Pledge("재활용 정거장 200곳 운영", "환경", "자원순환과", 1_400_000_000, 2026,
           (("시범 운영", 2026, "50곳"), ("확대 운영", 2026, "200곳")),
           (Round(1, "시범 정거장 50곳을 운영했습니다.", spent=380_000_000),
            Round(2, "200곳 운영을 시작했습니다. 목표를 달성했습니다.", status=DONE,
                  reason="재활용 정거장 200곳 운영으로 목표를 모두 달성했습니다.", spent=1_350_000_000))),
    Pledge("도심 하천 생태복원", "환경", "환경정책과", 15_000_000_000, 2030,
           (("기본계획 수립", 2026, "1건"), ("수원천 복원", 2028, "3.1km"), ("서호천 복원", 2030, "2.4km")),
           (Round(1, "생태복원 기본계획을 수립했습니다.", spent=450_000_000),
            Round(1, "국비 공모에 떨어져 재원 대책이 필요합니다.", "내년 공모에 다시 신청합니다.",
                  status=HELD, reason="국비 확보 전까지 실시설계를 미룹니다.", spent=450_000_000))),
    Pledge("미세먼지 쉼터 확대", "환경", "환경정책과", 600_000_000, 2026,
           (("쉼터 지정", 2026, "80곳"), ("공기청정기 설치", 2026, "80곳")),
           (Round(1, "버스정류장·경로당 80곳을 쉼터로 지정했습니다.", spent=120_000_000),
            Round(2, "80곳 모두 공기청정기를 설치했습니다.", status=DONE,
                  reason="쉼터 80곳 지정과 공기청정기 설치를 마쳤습니다.", spent=590_000_000))),
    Pledge("지하차도 침수 예방 시설", "교통·안전", "도로과", 3_200_000_000, 2027,
           (("자동 차단시설 설치", 2026, "7곳"), ("배수펌프 증설", 2027, "7곳")),
           (Round(1, "지하차도 7곳에 자동 차단시설을 설치했습니다.", spent=1_100_000_000),
            Round(2, "배수펌프 증설을 마쳤습니다. 관리는 계속합니다.", status=CONTINUING,
                  reason="시설은 모두 갖췄고, 우기 점검과 훈련을 해마다 이어갑니다.", spent=3_050_000_000))),
    Pledge("마을버스 노선 확대", "교통·안전", "교통정책과", 2_000_000_000, 2027,
           (("노선 조정 용역", 2026, "1건"), ("신설 노선 운행", 2027, "6개 노선")),
           (Round(1, "노선 조정 용역을 마쳤습니다.", spent=180_000_000),
            Round(1, "운수업체 공모에 응모가 없어 지연되고 있습니다.", "재공모를 준비합니다.", spent=180_000_000)),
           stops=SENT_BACK),
    Pledge("청년 월세 지원", "복지", "복지정책과", 5_400_000_000, 2028,
           (("지원 조례 제정", 2026, "1건"), ("월세 지원", 2027, "3,000명"), ("지원 확대", 2028, "5,000명")),
           (Round(1, "청년 월세 지원 조례를 제정했습니다.", spent=0),
            Round(1, "정부 사업과 겹쳐 대상이 줄어 일부만 추진합니다.", status=PARTIAL,
                  reason="정부 청년월세 특별지원과 중복되는 대상을 빼고 추진합니다.", spent=1_900_000_000))),
    Pledge("스마트 가로등 전환", "교통·안전", "도로과", 7_200_000_000, 2028,
           (("시범 구간 전환", 2026, "2,000등"), ("전면 전환", 2028, "18,000등")),
           (Round(0, "시범 구간 설계를 마쳤습니다.", spent=90_000_000),
            Round(1, "시범 구간 2,000등 전환을 마쳤습니다.", status=PARTIAL,
                  reason="전면 전환 예산이 절반만 반영되었습니다.", spent=1_600_000_000)),
           stops=STATUS_REVIEW),
    Pledge("관광 케이블카 설치", "문화·관광", "교통정책과", 48_000_000_000, 2029,
           (("타당성 조사", 2026, "1건"), ("민자 유치", 2027, "1건"), ("착공", 2028, "1건")),
           (Round(1, "타당성 조사를 마쳤습니다. 환경 훼손 우려가 큽니다.", spent=600_000_000),
            Round(1, "시민 공론화 결과 반대가 62%였습니다.", status=DROPPED,
                  reason="시민 공론화에서 반대가 많아 공약을 폐기합니다.", spent=650_000_000))),
    Pledge("전기차 충전소 확충", "환경", "환경정책과", 2_400_000_000, 2027,
           (("급속 충전소", 2026, "60기"), ("완속 충전소", 2027, "1,500기")),
           (Round(1, "급속 충전소 60기를 설치했습니다.", spent=1_020_000_000),
            Round(1, "완속 충전소 640기를 설치했습니다.", spent=1_480_000_000,
                  sent_back="설치 장소별 이용률을 함께 보고해 주세요."))),
]

# The planning office's words when it sends a report back, and the department's when it sends it again.
SEND_BACK = "추진이 늦어진 원인과 대책을 구체적으로 적어 주세요."
AMENDED = "요청하신 자료를 붙였습니다."
# What a department reports in a quarter that brings nothing new.
ROUTINE_REPORTS = ["지난 분기에 이어 계획대로 추진하고 있습니다.",
    "세부 사업별 집행을 점검했습니다. 특이사항은 없습니다."]

# A pledge the planning office has only named so far: its details wait to be registered.
PLEDGE_WAITING_DETAILS = "장애인 저상버스 100% 도입"


# -- 현장행정 (field_report) ----------------------------------------------------------------------

RECEIVED, IN_HAND, RESOLVED = "접수", "처리중", "처리완료"

# (address, lat, lon)
PLACES = [
    ("수원시 팔달구 효원로 241 시청 앞 보도", 37.263573, 127.028601),
    ("수원시 팔달구 정조로 825 팔달문 앞", 37.277210, 127.017030),
    ("수원시 장안구 송원로 101 장안구청 사거리", 37.303920, 127.010040),
    ("수원시 영통구 광교중앙로 140 광교호수공원 입구", 37.288640, 127.049010),
    ("수원시 권선구 세화로 134 수원역 환승센터", 37.265910, 127.000050),
    ("수원시 영통구 봉영로 1612 영통역 2번 출구", 37.251720, 127.071230),
    ("수원시 팔달구 매산로 1가 로데오거리", 37.266620, 127.004510),
    ("수원시 장안구 수성로 245 화서문 주차장", 37.286810, 127.011020),
    ("수원시 권선구 권선로 693 권선동 주민센터 앞", 37.258020, 127.029030),
    ("수원시 팔달구 인계로 166 나혜석거리", 37.262640, 127.031820),
    ("수원시 장안구 만석로 35 만석공원 산책로", 37.299230, 127.005020),
    ("수원시 권선구 호매실로 90 호매실 도서관 앞", 37.263710, 126.957930),
    ("수원시 영통구 동탄원천로 1000 원천동 상가", 37.274530, 127.060010),
    ("수원시 팔달구 중부대로 222 우만동 육교 밑", 37.276020, 127.036040),
    ("수원시 장안구 경수대로 1046 파장동 버스정류장", 37.312010, 126.997020),
    ("수원시 권선구 서호로 89 서호공원 둘레길", 37.279030, 126.990020),
    ("수원시 영통구 매탄로 39 매탄시장 골목", 37.264410, 127.045630),
    ("수원시 팔달구 창룡대로 103 창룡문 사거리", 37.287940, 127.024560),
    ("수원시 권선구 평동 자원순환센터", 37.246030, 126.987010),
]


@dataclass(frozen=True)
class FieldReport:
    category: str
    description: str
    reporter: str
    place: int  # index into PLACES
    fate: str
    age: int  # working days since it was reported
    urgent: bool = False
    plan: str = ""  # the department's note when it acknowledges
    resolution: str = ""
    days_to_fix: int = 2  # working days between acknowledging and fixing


FIELD_REPORTS: list[FieldReport] = [
    # just received, or waiting too long for the department's acknowledgement
    FieldReport("도로파손", "보도블록 여러 장이 들떠 있어 어르신이 걸려 넘어질 뻔했습니다.", "welfare.staff", 0,
                RECEIVED, 1),
    FieldReport("가로등", "공원 입구 가로등 두 개가 며칠째 꺼져 있어 밤에 매우 어둡습니다.", "environment.staff", 10,
                RECEIVED, 1),
    FieldReport("쓰레기", "상가 뒤편 골목에 대형 폐가구와 쓰레기봉투가 무단으로 쌓여 있습니다.", "roads.staff", 16,
                RECEIVED, 1),
    FieldReport("불법주정차", "횡단보도 위에 화물차가 매일 오후 주차해 아이들이 차도로 돌아갑니다.", "welfare.lead", 8,
                RECEIVED, 2, urgent=True),
    FieldReport("환경오염", "하천으로 흰 거품이 섞인 물이 흘러들고 악취가 납니다.", "recycling.staff", 15, RECEIVED, 3,
                urgent=True),
    FieldReport("위기가구", "반지하 주택 우편함에 독촉장이 쌓여 있고 인기척이 없습니다. 확인이 필요해 보입니다.",
                "roads.staff", 13, RECEIVED, 4),
    FieldReport("기타", "버스정류장 안내 전광판이 깨져 전선이 드러나 있습니다.", "traffic.staff", 14, RECEIVED, 2),
    FieldReport("도로파손", "맨홀 뚜껑 주변이 내려앉아 차량이 지날 때마다 큰 소리가 납니다.", "traffic.lead", 2,
                RECEIVED, 5),
    # acknowledged, being fixed
    FieldReport("도로파손", "차로 한가운데 지름 50cm 정도의 포트홀이 생겼습니다. 차량 파손 위험이 큽니다.",
                "traffic.staff",
                13, IN_HAND, 1, urgent=True, plan="오늘 중 긴급 보수(상온 아스콘)하고 다음 주 재포장합니다."),
    FieldReport("가로등", "어린이공원 옆 골목 가로등이 깜빡거리다 꺼집니다.", "welfare.staff", 11, IN_HAND, 2,
                plan="등기구 교체 예정입니다."),
    FieldReport("쓰레기", "재활용 수거함 주변에 음식물이 섞인 쓰레기가 흩어져 있습니다.", "environment.staff", 6,
                IN_HAND, 3,
                plan="수거 업체에 즉시 수거를 지시하고 계도 안내문을 붙이겠습니다."),
    FieldReport("불법주정차", "소방차 전용구역에 승용차가 상습적으로 주차합니다.", "roads.lead", 9, IN_HAND, 4,
                urgent=True,
                plan="단속 요원을 배치하고 과태료를 부과합니다."),
    FieldReport("환경오염", "공사장에서 날림먼지가 심하게 날려 주변 상가 민원이 많습니다.", "traffic.staff", 12,
                IN_HAND, 4,
                plan="공사장 살수와 방진막 보강을 명령했습니다."),
    FieldReport("위기가구", "홀로 사시는 어르신이 최근 식사를 거르시는 것 같다는 이웃의 이야기가 있습니다.",
                "recycling.lead",
                17, IN_HAND, 3, plan="맞춤형복지팀이 방문 상담합니다."),
    FieldReport("도로파손", "자전거도로 경계석이 깨져 자전거가 넘어질 위험이 있습니다.", "environment.lead", 3,
                IN_HAND, 6,
                plan="경계석 교체 공사를 발주했습니다."),
    FieldReport("쓰레기", "하천 산책로 벤치 주변에 쓰레기가 계속 버려집니다.", "welfare.staff", 11, IN_HAND, 5,
                plan="쓰레기통을 추가 설치하겠습니다."),
    FieldReport("가로등", "지하보도 조명이 절반 이상 나가 있습니다.", "planning.staff", 13, IN_HAND, 2, urgent=True,
                plan="야간 긴급 보수반을 보냈습니다."),
    FieldReport("기타", "공원 놀이터 그네 줄이 끊어져 있습니다.", "environment.staff", 10, IN_HAND, 3,
                plan="공원 관리 부서에 전달하고 사용 금지 표지를 붙였습니다."),
    # fixed and closed
    FieldReport("도로파손", "보도 한가운데 보도블록 열 장 정도가 깨져 있습니다.", "welfare.staff", 0, RESOLVED, 8,
                plan="이번 주 보수 예정입니다.", resolution="깨진 보도블록 12장을 새것으로 교체했습니다."),
    FieldReport("도로파손", "빗물받이 덮개가 없어져 구멍이 뚫려 있습니다.", "recycling.staff", 6, RESOLVED, 14,
                urgent=True,
                plan="임시 덮개를 설치했습니다.", resolution="빗물받이 덮개를 새로 설치했습니다.", days_to_fix=1),
    FieldReport("도로파손", "교차로 포트홀 세 곳이 이어져 있습니다.", "traffic.staff", 17, RESOLVED, 22,
                plan="야간 보수 예정입니다.", resolution="포트홀 3곳을 재포장했습니다."),
    FieldReport("도로파손", "육교 계단 미끄럼방지 패드가 떨어져 나갔습니다.", "welfare.lead", 13, RESOLVED, 30,
                resolution="미끄럼방지 패드를 전 계단에 새로 붙였습니다.", days_to_fix=4),
    FieldReport("가로등", "가로등 기둥이 기울어져 쓰러질 것 같습니다.", "environment.staff", 14, RESOLVED, 12,
                urgent=True,
                plan="현장 통제 후 교체합니다.", resolution="기울어진 가로등 기둥을 철거하고 새로 세웠습니다.",
                    days_to_fix=1),
    FieldReport("가로등", "골목 보안등이 낮에도 켜져 있습니다.", "roads.staff", 9, RESOLVED, 40,
                resolution="점멸기 타이머를 교체했습니다."),
    FieldReport("가로등", "공원 산책로 조명 다섯 개가 꺼져 있습니다.", "recycling.staff", 10, RESOLVED, 55,
                resolution="등기구 5개를 LED로 교체했습니다.", days_to_fix=3),
    FieldReport("불법주정차", "초등학교 정문 앞 불법주차로 등하교 시간이 위험합니다.", "welfare.staff", 11, RESOLVED,
                18,
                urgent=True, plan="등하교 시간 집중 단속합니다.",
                resolution="2주간 집중 단속(과태료 37건)하고 주정차 단속 카메라 설치를 요청했습니다.", days_to_fix=5),
    FieldReport("불법주정차", "버스정류장에 택시가 줄지어 정차해 버스가 차로에서 승하차합니다.", "roads.lead", 4,
                RESOLVED, 35,
                resolution="택시 임시 승차대를 옮기고 정류장 단속을 강화했습니다."),
    FieldReport("불법주정차", "장애인 주차구역에 일반 차량이 주차되어 있습니다.", "environment.lead", 7, RESOLVED, 64,
                resolution="과태료를 부과하고 안내 표지를 보강했습니다.", days_to_fix=1),
    FieldReport("쓰레기", "공사장 폐자재가 인도에 쌓여 통행을 막습니다.", "traffic.staff", 5, RESOLVED, 16,
                resolution="시공사에 치우도록 하고 과태료를 부과했습니다.", days_to_fix=1),
    FieldReport("쓰레기", "시장 골목 음식물 쓰레기 수거가 안 되어 악취가 심합니다.", "welfare.staff", 16, RESOLVED, 26,
                plan="수거 일정을 확인하겠습니다.", resolution="수거 업체 노선을 조정해 매일 수거합니다."),
    FieldReport("쓰레기", "하천변에 폐타이어 여러 개가 버려져 있습니다.", "environment.staff", 15, RESOLVED, 48,
                resolution="폐타이어 14개를 수거했습니다.", days_to_fix=3),
    FieldReport("쓰레기", "원룸촌 분리배출이 엉망이라 재활용품이 섞여 버려집니다.", "roads.staff", 12, RESOLVED, 75,
                resolution="분리배출 안내문을 배포하고 재활용 정거장을 설치했습니다.", days_to_fix=6),
    FieldReport("환경오염", "세차장 폐수가 빗물받이로 흘러듭니다.", "recycling.lead", 8, RESOLVED, 20, urgent=True,
                plan="현장 점검 후 개선명령 예정입니다.",
                    resolution="세차장에 개선명령을 내리고 폐수 처리시설을 확인했습니다."),
    FieldReport("환경오염", "음식점 배기구에서 기름 냄새가 주택가로 퍼집니다.", "welfare.lead", 17, RESOLVED, 44,
                resolution="음식점에 방지시설 설치를 권고하고 재점검했습니다.", days_to_fix=7),
    FieldReport("환경오염", "공원 연못 물이 녹색으로 변하고 물고기가 죽어 있습니다.", "planning.staff", 3, RESOLVED, 90,
                resolution="녹조를 제거하고 순환펌프를 설치했습니다.", days_to_fix=4),
    FieldReport("위기가구", "폐지를 줍는 어르신이 추운 날에도 얇은 옷차림으로 다니십니다.", "traffic.lead", 9,
                RESOLVED, 33,
                plan="동 맞춤형복지팀과 방문합니다.",
                    resolution="방한용품을 지원하고 노인 일자리와 기초연금 신청을 도왔습니다."),
    FieldReport("위기가구", "고시원에 사는 중년 남성이 며칠째 식사를 못 하셨다고 합니다.", "environment.staff", 6,
                RESOLVED, 58,
                urgent=True, resolution="긴급 생계지원을 결정하고 무료 급식소를 연결했습니다.", days_to_fix=1),
    FieldReport("위기가구", "아이 셋을 키우는 한부모 가정의 난방이 끊겼다고 합니다.", "recycling.staff", 12, RESOLVED,
                100,
                urgent=True, resolution="난방비를 긴급 지원하고 에너지 바우처를 신청했습니다.", days_to_fix=1),
    FieldReport("기타", "도로명 안내판이 가로수에 가려 보이지 않습니다.", "welfare.staff", 1, RESOLVED, 70,
                resolution="가로수 가지를 정리하고 안내판 위치를 옮겼습니다."),
    FieldReport("가로등", "횡단보도 집중조명이 고장 났습니다.", "roads.staff", 17, RESOLVED, 82, urgent=True,
                resolution="집중조명 등기구를 교체했습니다.", days_to_fix=1),
]


# -- 전자결재 (approval) --------------------------------------------------------------------------


@dataclass(frozen=True)
class Act:
    """One person's act on a document: ``task`` is the BPMN task they act on (review, concur,
    approve, on_hold, post_review, withdraw, revise_document), ``decision`` what they decide."""

    user: str
    task: str
    decision: str = ""
    comment: str = ""
    days: int = 1  # working days after the previous act
    revision: dict[str, object] = field(default_factory=dict)  # a revision's changes


@dataclass(frozen=True)
class Absence:
    """An approver away (대결): from ``starts`` working days ago for ``days`` working days."""

    user: str
    deputy: str
    kind: str
    starts: int
    days: int


@dataclass(frozen=True)
class Document:
    title: str
    body: str
    doc_type: str
    amount: int
    drafter: str
    line: tuple[tuple[str, tuple[str, ...]], ...]  # (kind, people) in order
    acts: tuple[Act, ...]
    age: int  # working days since it was drafted


ABSENCES = [
    Absence("roads.chief", "roads.lead", "교육", starts=24, days=3),
    Absence("traffic.chief", "traffic.lead", "출장", starts=41, days=2),
]
# Someone away today, so a deputy's inbox shows the absent colleague's tasks (대결).
CURRENT_ABSENCE = Absence("welfare.chief", "welfare.lead", "출장", starts=1, days=4)

_LEAD = "검토"
_CONCUR = "협조"
_FINAL = "결재"

DOCUMENTS: list[Document] = [
    # approved: ordinary, with a concurrence, by the mayor, by the bureau head
    Document("2026년 하반기 보도블록 정비 계획",
             "1. 목적: 노후 보도블록을 정비하여 보행 안전을 확보하고자 합니다.\n"
             "2. 대상: 팔달구·장안구 주요 보행로 4.6km\n3. 기간: 2026. 9. ~ 11.\n4. 소요 예산: 붙임 참조",
             "일반", 0, "roads.staff",
             ((_LEAD, ("roads.lead",)), (_FINAL, ("roads.chief",))),
             (Act("roads.lead", "review", "승인", "검토했습니다."), Act("roads.chief", "approve", "결재")), age=95),
    Document("어린이보호구역 과속방지턱 설치 협조 요청",
             "관내 어린이보호구역 12곳에 고원식 과속방지턱을 설치하고자 하오니 도로 점용과 시공에 "
             "협조하여 주시기 바랍니다.\n\n붙임: 설치 위치도 1부.",
             "일반", 0, "traffic.staff",
             ((_LEAD, ("traffic.lead",)), (_CONCUR, ("roads.chief",)), (_FINAL, ("traffic.chief",))),
             (Act("traffic.lead", "review", "승인"), Act("roads.chief", "concur", "승인", "시공 일정 협의 바랍니다."),
              Act("traffic.chief", "approve", "결재")), age=80),
    Document("2026년 하반기 승진 인사 계획",
             "2026년 하반기 정기 승진 인사를 다음과 같이 시행하고자 합니다.\n"
             "1. 승진 규모: 5급 4명, 6급 11명\n2. 심사 일정: 2026. 6. 20.\n3. 발령 예정일: 2026. 7. 1.",
             "인사", 0, "planning.staff",
             ((_LEAD, ("planning.lead",)), (_LEAD, ("planning.chief",)), (_LEAD, ("vice.mayor",)),
              (_FINAL, ("mayor",))),
             (Act("planning.lead", "review", "승인"), Act("planning.chief", "review", "승인"),
              Act("vice.mayor", "review", "승인"), Act("mayor", "approve", "결재", "원안대로 시행하세요.")), age=110),
    Document("교통안전 시설물 정비 용역 계약",
             "교통안전 시설물(신호등, 표지판, 노면표시) 정비 용역을 다음과 같이 계약하고자 합니다.\n"
             "- 계약 방법: 제한경쟁입찰\n- 계약 기간: 착수일로부터 180일\n- 추정 금액: 90,000,000원",
             "계약", 90_000_000, "traffic.staff",
             ((_LEAD, ("traffic.lead",)), (_LEAD, ("traffic.chief",)), (_FINAL, ("safety.director",))),
             (Act("traffic.lead", "review", "승인"), Act("traffic.chief", "review", "승인"),
              Act("safety.director", "approve", "결재")), age=70),
    # approved early by whoever the delegation rules allow (전결)
    Document("경로당 냉방기 수리비 지출",
             "관내 경로당 4곳의 냉방기 고장으로 수리비를 다음과 같이 지출하고자 합니다.\n"
             "- 금액: 3,200,000원\n- 지출 과목: 경로당 운영 지원",
             "예산", 3_200_000, "welfare.staff",
             ((_LEAD, ("welfare.lead",)), (_FINAL, ("welfare.chief",))),
             (Act("welfare.lead", "approve", "결재", "팀장 전결로 처리합니다."),), age=100),
    Document("미세먼지 신호등 유지보수 용역 계약",
             "미세먼지 신호등 36기의 유지보수 용역을 1년간 계약하고자 합니다. 추정 금액 15,000,000원.",
             "계약", 15_000_000, "environment.staff",
             ((_LEAD, ("environment.lead",)), (_LEAD, ("environment.chief",)), (_FINAL, ("welfare.director",))),
             (Act("environment.lead", "review", "승인"), Act("environment.chief", "approve", "결재")), age=75),
    Document("재활용 선별장 설비 교체 예산 집행",
             "재활용 선별장의 노후 컨베이어와 광학 선별기를 교체하고자 합니다.\n"
             "- 소요 예산: 120,000,000원\n- 기대 효과: 선별 효율 25% 향상, 화재 위험 감소",
             "예산", 120_000_000, "recycling.staff",
             ((_LEAD, ("recycling.lead",)), (_LEAD, ("recycling.chief",)), (_LEAD, ("welfare.director",)),
              (_FINAL, ("vice.mayor",))),
             (Act("recycling.lead", "review", "승인"), Act("recycling.chief", "review", "승인"),
              Act("welfare.director", "approve", "결재")), age=60),
    # approved by a deputy while the approver was away (대결): one 후결 done, one still waiting
    Document("동절기 제설자재 구매",
             "겨울철 제설 대책에 따라 제설자재를 다음과 같이 구매하고자 합니다.\n"
             "- 염화칼슘 400톤, 친환경 제설제 150톤\n- 소요 예산: 30,000,000원",
             "예산", 30_000_000, "roads.staff",
             ((_LEAD, ("roads.lead",)), (_FINAL, ("roads.chief",))),
             (Act("roads.lead", "review", "승인", days=0), Act("roads.lead", "approve", "결재",
              "과장 교육 중 대결합니다.")),
             age=25),
    Document("버스정보안내기 설치 계약",
             "버스정류장 24곳에 버스정보안내기(BIT)를 설치하는 계약을 체결하고자 합니다. 추정 금액 18,000,000원.",
             "계약", 18_000_000, "traffic.staff",
             ((_LEAD, ("traffic.lead",)), (_FINAL, ("traffic.chief",))),
             (Act("traffic.lead", "review", "승인", days=0), Act("traffic.lead", "approve", "결재",
              "과장 출장 중 대결합니다."),
              Act("traffic.chief", "post_review", "확인", "확인했습니다.", days=3)), age=42),
    # returned, then revised and approved
    Document("저소득층 난방비 지원 계획",
             "기초생활수급 가구에 난방비를 지원하고자 합니다.\n- 대상: 1,200가구\n- 지원액: 가구당 10만 원",
             "예산", 120_000_000, "welfare.staff",
             ((_LEAD, ("welfare.lead",)), (_LEAD, ("welfare.chief",)), (_FINAL, ("welfare.director",))),
             (Act("welfare.lead", "review", "반려", "차상위계층 포함 여부와 지원 기준을 밝혀 주세요."),
              Act("welfare.staff", "revise_document", "재상신", days=2, revision={
                  "body": "기초생활수급 가구와 차상위계층에 난방비를 지원하고자 합니다.\n"
                          "- 대상: 수급 1,200가구, 차상위 600가구\n- 지원액: 가구당 10만 원\n"
                          "- 기준: 2026. 11. 1. 기준 자격 보유 가구",
                  "amount": 180_000_000, "revision_note": "차상위계층을 대상에 넣고 기준일을 밝혔습니다."}),
              Act("welfare.lead", "review", "승인"), Act("welfare.chief", "review", "승인"),
              Act("welfare.director", "approve", "결재")), age=55),
    # withdrawn before anyone opened it, discarded after a return
    Document("공영주차장 요금 조정안",
             "공영주차장 요금을 30분당 600원에서 800원으로 조정하고자 합니다.",
             "일반", 0, "traffic.staff",
             ((_LEAD, ("traffic.lead",)), (_FINAL, ("traffic.chief",))),
             (Act("traffic.staff", "withdraw", "회수", "물가 대책 발표 뒤로 미루기로 했습니다.", days=0),), age=36),
    Document("종량제 봉투 디자인 변경",
             "종량제 봉투에 재활용 안내 문구를 넣도록 디자인을 변경하고자 합니다.",
             "일반", 0, "recycling.staff",
             ((_LEAD, ("recycling.lead",)), (_FINAL, ("recycling.chief",))),
             (Act("recycling.lead", "review", "반려", "내년 봉투 제작 계약이 끝난 뒤에 다시 검토하세요."),
              Act("recycling.staff", "revise_document", "폐기", days=2,
                  revision={"revision_note": "내년 계약 때 다시 기안하겠습니다."})), age=30),
    # waiting at each kind of step
    Document("2027년 주요업무계획 수립 보고",
             "2027년 주요업무계획을 다음과 같이 수립하고자 보고드립니다.\n"
             "1. 시정 목표: 시민이 체감하는 안전·복지 도시\n2. 핵심 과제: 12개\n3. 부서별 세부 계획: 붙임",
             "일반", 0, "planning.staff",
             ((_LEAD, ("planning.lead",)), (_FINAL, ("planning.chief",))),
             (), age=1),
    Document("하천 수질 측정 결과 보고 및 정화 예산",
             "3분기 하천 수질 측정 결과 서호천 하류 BOD가 기준을 넘었습니다. 정화 사업 예산을 요청합니다.\n"
             "- 소요 예산: 60,000,000원",
             "예산", 60_000_000, "environment.staff",
             ((_LEAD, ("environment.lead",)), (_LEAD, ("environment.chief",)), (_FINAL, ("welfare.director",))),
             (Act("environment.lead", "review", "승인"),), age=3),
    Document("무더위쉼터 운영 결과 보고",
             "올해 무더위쉼터 운영 결과를 보고드립니다.\n- 운영: 228곳, 이용 연인원 41,300명\n"
             "- 개선점: 야간 운영 수요 증가",
             "일반", 0, "welfare.staff",
             ((_LEAD, ("welfare.lead",)), (_CONCUR, ("environment.chief",)), (_FINAL, ("welfare.chief",))),
             (Act("welfare.lead", "review", "승인"),), age=4),
    Document("시청 앞 보행환경 개선 공사 설계",
             "시청 앞 광장 주변 보행환경 개선 공사 실시설계를 다음과 같이 추진하고자 합니다.\n"
             "- 범위: 효원로 일원 600m\n- 설계비: 80,000,000원\n- 협조: 교통 처리(교통정책과), 녹지(환경정책과)",
             "예산", 80_000_000, "roads.staff",
             ((_LEAD, ("roads.lead",)), (_CONCUR, ("traffic.chief", "environment.chief")), (_LEAD, ("roads.chief",)),
              (_FINAL, ("safety.director",))),
             (Act("roads.lead", "review", "승인"), Act("traffic.chief", "concur", "승인",
              "공사 중 우회 동선을 협의합시다.")),
             age=5),
    Document("폐현수막 재활용 시범사업 추진계획",
             "폐현수막을 장바구니로 재활용하는 시범사업을 사회적기업과 함께 추진하고자 합니다.",
             "일반", 0, "recycling.staff",
             ((_LEAD, ("recycling.lead",)), (_FINAL, ("recycling.chief",))),
             (Act("recycling.lead", "review", "승인"),), age=3),
    Document("2027년 상반기 정기인사 계획",
             "2027년 상반기 정기인사를 다음과 같이 시행하고자 합니다.\n"
             "1. 전보 대상: 3년 이상 근무자\n2. 발령 예정일: 2027. 1. 2.\n3. 인사 원칙: 붙임",
             "인사", 0, "planning.staff",
             ((_LEAD, ("planning.lead",)), (_LEAD, ("planning.chief",)), (_LEAD, ("vice.mayor",)),
              (_FINAL, ("mayor",))),
             (Act("planning.lead", "review", "승인"), Act("planning.chief", "review", "승인"),
              Act("vice.mayor", "review", "승인", "검토했습니다.")), age=6),
    Document("교통약자 이동지원센터 차량 구입",
             "장애인 콜택시 대기 시간을 줄이기 위해 특장 차량 1대를 추가 구입하고자 합니다.\n- 소요 예산: 35,000,000원",
             "예산", 35_000_000, "welfare.staff",
             ((_LEAD, ("welfare.lead",)), (_FINAL, ("welfare.chief",))),
             (Act("welfare.lead", "review", "승인", days=0),), age=2),
    Document("택시 승차대 이전 설치",
             "인계동 택시 승차대를 보행 동선과 겹치지 않는 곳으로 옮기고자 합니다.\n- 소요 예산: 40,000,000원",
             "예산", 40_000_000, "traffic.staff",
             ((_LEAD, ("traffic.lead",)), (_FINAL, ("traffic.chief",))),
             (Act("traffic.lead", "review", "승인"), Act("traffic.chief", "approve", "보류",
              "상인회 의견을 듣고 결정하겠습니다.")),
             age=6),
    # returned, waiting for the drafter
    Document("가로수 정비 예산 요청",
             "가로수 120주 가지치기와 고사목 제거 예산을 요청합니다.\n- 소요 예산: 24,000,000원",
             "예산", 24_000_000, "roads.staff",
             ((_LEAD, ("roads.lead",)), (_FINAL, ("roads.chief",))),
             (Act("roads.lead", "review", "반려", "수량 근거(구간별 주수)를 보완하세요."),), age=4),
    Document("공원 화장실 리모델링 계획",
             "노후 공원 화장실 6곳을 리모델링하고자 합니다.\n- 소요 예산: 45,000,000원",
             "예산", 45_000_000, "environment.staff",
             ((_LEAD, ("environment.lead",)), (_FINAL, ("environment.chief",))),
             (Act("environment.lead", "review", "승인"),
              Act("environment.chief", "approve", "반려", "장애인 화장실 기준을 반영해 다시 올리세요.")), age=7),
]


# -- 시민제안 (suggestion) -----------------------------------------------------------------------


@dataclass(frozen=True)
class Suggestion:
    title: str
    supporters: int
    proposer: str
    age: int
    category: str = ""  # reviewed in this field; empty: waiting for review
    accepted: bool = True
    answer: str = ""  # answered; empty: waiting for the answer


SUGGESTIONS = [
    Suggestion("버스정류장 그늘막 설치", 140, "roads.staff", 2),
    Suggestion("경로당 겨울 난방비 지원", 35, "welfare.staff", 40, "복지", answer="난방비 지원 대상을 확대했습니다."),
    Suggestion("하천 산책로 반려견 배변봉투함", 88, "environment.staff", 20, "환경",
               answer="봉투함 30개를 설치했습니다."),
    Suggestion("학교 앞 횡단보도 바닥 신호등", 212, "traffic.staff", 12, "도로"),
]
