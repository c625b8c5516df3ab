"""The demo city hall's 인물: some thirty people the mayor met over the season — residents' leaders,
merchants, experts, officials of other agencies, council members and the press — registered by the
비서실's 인물관리 담당 (``mayor.aide``) and the 수행비서 (``mayor.secretary``).

Every Friday evening the week's schedule entries are linked to the guests who came; the Friday before,
the 수행비서 reads the contacts of next week's guests to arrange the meetings (일정 조율), each reading
on record. The remarks and the directives and pledges they took part in are linked as the season goes.
One resident asked to be erased and was; one expert's position changed. The people, their contacts and
where they appear are data here (phone numbers in the unassigned 010-0xxx range, e-mail addresses under
``.example``); ``engine.demo`` plays them with its calendar and desk (``stories``).
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import commands, demo_schedule, persons
from engine.models import Instance, Person, Remark, ScheduleEvent

Story = Generator[datetime, None, None]

AIDE, SECRETARY = "mayor.aide", "mayor.secretary"


@dataclass(frozen=True)
class Someone:
    name: str
    kind: str
    organisation: str
    position: str
    tags: tuple[str, ...]
    phone: str
    email: str = ""
    address: str = ""
    notes: str = ""
    guest: str = ""  # how the mayor's schedule names them among the guests
    remarks: tuple[tuple[int, str], ...] = ()  # (index in demo_schedule.REMARKS, role)
    cases: tuple[tuple[str, str], ...] = ()  # (a directive's or pledge's title, role)
    by: str = AIDE


PEOPLE = (
    Someone("이정숙", "시민", "광교1동 주민자치회", "주민자치위원장", ("환경", "안전"), "010-0412-3381",
            "jslee@gwanggyo1.example", "수원시 영통구 광교호수로 152",
            "수원천·광교호수공원 조명 민원을 주민 서명 120명과 함께 냈음. 오전 통화 선호.", guest="주민자치위원장",
            remarks=((1, "언급"),), cases=(("하천변 산책로 야간 조명 개선", "요청"),)),
    Someone("박민호", "시민", "매탄초등학교 학부모회", "학부모회 대표", ("교통", "안전"), "010-0527-1904",
            "minho.park@maetan-pta.example", "수원시 영통구 매탄로 88", "등하교 시간(08:00–09:00)에는 통화 어려움.",
            guest="학부모회 대표", remarks=((6, "언급"),),
            cases=(("스쿨존 안전시설 일제 점검", "요청"), ("어린이 통학로 안전 100% 확보", "의견 제출"))),
    Someone("최상길", "기관·단체", "팔달문시장 상인회", "상인회장", ("전통시장", "주차"), "010-0338-7716",
            "sgchoi@paldalmun-market.example", "수원시 팔달구 정조로 801 상인회 사무실",
            "주말 임시 주차장 운영안에 적극 협조 의사. 사무실 전화 031-0254-1180.", guest="상인회장",
            remarks=((2, "언급"),), cases=(("전통시장 주차난 해소 방안 마련", "요청"),)),
    Someone("정하은", "시민", "수원시 청소년의회", "청소년의회 의장", ("청소년",), "010-0871-2245",
            "haeun.jung@youth-council.example", "", "고등학생. 연락은 담당 교사(청소년의회 지도교사)를 거쳐 할 것.",
            guest="청소년의회 의장", by=SECRETARY),
    Someone("한기석", "기관·단체", "수원상공회의소", "회장", ("경제", "일자리"), "010-0293-6650",
            "ks.han@suwon-chamber.example", "수원시 팔달구 효원로 1 상공회의소 회관",
            "일정은 비서실(031-0244-0101) 통해 조율.", guest="수원상공회의소 회장",
            cases=(("노인 일자리 1만 개 창출", "협약 참여"),)),
    Someone("윤서영", "기관·단체", "수원환경운동연합", "대표", ("환경", "하천"), "010-0764-5512",
            "sy.yoon@suwon-kfem.example", "수원시 팔달구 매산로 27", "하천 생태복원 민관협의체 위원. 서면 자료 선호.",
            guest="수원환경운동연합 대표", remarks=((4, "언급"),),
            cases=(("도심 하천 생태복원", "자문"), ("하천 악취 민원 해소", "의견 제출"))),
    Someone("장태준", "의원", "경기도의회", "도의원 (수원 제3선거구)", ("교통", "예산"), "010-0185-4470",
            "tj.jang@ggc.example", "경기도 수원시 영통구 도청로 30 경기도의회", "보좌관 경유 연락.",
            guest="경기도의회 의원 2명", by=SECRETARY),
    Someone("문지원", "의원", "경기도의회", "도의원 (수원 제5선거구)", ("복지", "돌봄"), "010-0649-3092",
            "jw.moon@ggc.example", "경기도 수원시 영통구 도청로 30 경기도의회", "",
            guest="경기도의회 의원 2명", cases=(("24시간 아이돌봄센터 설치", "의견 제출"),), by=SECRETARY),
    Someone("강민재", "언론", "경기남부일보", "사회부 기자", ("시정",), "010-0917-2263", "mj.kang@gnilbo.example",
            "", "시청 출입. 인터뷰 요청은 공보관과 함께 검토.", guest="지역 일간지 기자"),
    Someone("류지안", "언론", "수원시민신문", "편집국장", ("시정", "교통"), "010-0508-7134",
            "jian.ryu@suwoncitizen.example", "", "신년 기획 대담 제안(1월)."),
    Someone("서유진", "언론", "수원방송", "보도제작 PD", ("복지",), "010-0472-9901", "yj.seo@swbc.example", "",
            "기획 보도 '복지 사각지대' 취재 중."),
    Someone("배경호", "전문가", "아주대학교 교통시스템공학과", "교수", ("교통", "자전거"), "010-0223-5870",
            "khbae@ajou-traffic.example", "", "교통정책 자문위원. 강의 시간(화·목 오후) 피해서 연락.",
            cases=(("출퇴근 시간 광교중앙역 환승 혼잡 완화", "자문"), ("공공자전거 5,000대 확대", "자문"))),
    Someone("임수진", "전문가", "경기연구원", "연구위원", ("복지", "1인가구"), "010-0356-4182",
            "sj.lim@gri.example", "", "1인 가구 실태조사 책임연구원.", cases=(("1인 가구 지원 종합계획", "자문"),)),
    Someone("홍성민", "전문가", "성균관대학교 건설환경공학부", "교수", ("하천", "환경"), "010-0611-7345",
            "smhong@skku-env.example", "", "", cases=(("도심 하천 생태복원", "자문"),)),
    Someone("조은비", "전문가", "한국교통연구원", "책임연구원", ("교통", "트램"), "010-0740-2218",
            "eb.cho@koti.example", "", "트램 도입 타당성 검토 경험 있음.", cases=(("구도심 트램 도입 검토", "자문"),)),
    Someone("남궁현", "전문가", "수원시정연구원", "연구위원", ("도시계획", "녹지"), "010-0584-6627",
            "hyun.namgung@suwon-ri.example", "", "", cases=(("도심 녹지축 연결 장기 계획", "자문"),)),
    Someone("신예린", "전문가", "경기도육아종합지원센터", "센터장", ("돌봄", "아동"), "010-0169-3340",
            "yr.shin@gg-childcare.example", "", "", cases=(("24시간 아이돌봄센터 설치", "자문"),)),
    Someone("권오성", "공무원", "경기도 교통국", "버스정책과장", ("버스", "교통"), "031-0120-4411",
            "os.kwon@gg-gov.example", "경기도 수원시 영통구 도청로 30", "",
            cases=(("시내버스 도착정보 안내 확대", "협조"),)),
    Someone("유미경", "공무원", "팔달구청 복지지원과", "통합사례관리팀장", ("복지",), "031-0228-6730",
            "mk.yu@paldal-gu.example", "", "", remarks=((3, "언급"),),
            cases=(("복지 사각지대 위기가구 발굴", "협조"),)),
    Someone("황보준", "공무원", "수원남부경찰서", "교통과장", ("교통", "안전"), "031-0899-0112",
            "jun.hwangbo@police-suwon.example", "", "", cases=(("스쿨존 안전시설 일제 점검", "협조"),)),
    Someone("백승희", "공무원", "수원소방서", "예방안전과장", ("안전",), "031-0119-2305", "sh.baek@fire-suwon.example",
            "", "", cases=(("재활용 선별장 화재 예방 점검", "자문"),)),
    Someone("송재희", "시민", "세류2동 12통", "통장", ("복지",), "010-0937-1148", "",
            "수원시 권선구 세류로 41", "어르신 홀몸 가구 5곳 안부를 매주 확인함.", remarks=((3, "언급"),)),
    Someone("전민수", "시민", "영통동 주민", "", ("환경", "악취"), "010-0725-8839", "ms.jeon@mail.example",
            "수원시 영통구 영통로 214", "재활용 선별장 악취 민원 대표 제기. 회신은 문자로 요청.",
            remarks=((4, "언급"),), cases=(("하천 악취 민원 해소", "요청"),)),
    Someone("김영자", "기관·단체", "대한노인회 수원시 팔달구지회", "지회장", ("복지", "어르신"), "010-0301-6652",
            "", "수원시 팔달구 팔달로 112 노인회관", "",
            remarks=((0, "언급"),),
            cases=(("버스정류장 온열의자 설치", "요청"), ("노인 일자리 1만 개 창출", "의견 제출"))),
    Someone("이준혁", "시민", "수원시 청년정책협의체", "위원장", ("청년", "주거"), "010-0486-5523",
            "jh.lee@suwon-youth.example", "", "", cases=(("청년 월세 지원", "의견 제출"),)),
    Someone("차미란", "기관·단체", "수원시 자원봉사센터", "센터장", ("복지", "자원봉사"), "031-0236-1365",
            "mr.cha@suwon-volunteer.example", "", ""),
    Someone("고태현", "기관·단체", "수원시 개인택시운송사업조합", "이사장", ("택시", "교통"), "010-0852-7710",
            "th.ko@suwon-taxi.example", "", "", cases=(("야간 택시 승차난 해소", "요청"),)),
    Someone("노은정", "기관·단체", "수원YWCA", "사무총장", ("돌봄", "여성"), "031-0258-3321",
            "ej.noh@suwon-ywca.example", "", ""),
    Someone("엄기훈", "공무원", "한국전력공사 경기본부 수원지사", "지사장", ("에너지",), "031-0230-8114",
            "kh.eom@kepco-suwon.example", "", "", cases=(("전기차 충전소 확충", "협조"),)),
    Someone("피성호", "시민", "수원 두바퀴 자전거 동호회", "회장", ("자전거",), "010-0263-4409",
            "sh.pi@twowheels.example", "", "",
            cases=(("자전거도로 단절 구간 연결", "요청"), ("공공자전거 5,000대 확대", "의견 제출"))),
)

# A resident who wrote in about the smell of the recycling plant, answered — and then asked to be erased.
ERASED = Someone("방소연", "시민", "영통2동 주민", "", ("악취",), "010-0618-2257", "sy.bang@mail.example",
                 "수원시 영통구 봉영로 1577", "악취 민원 회신 완료.", remarks=((4, "언급"),))
CHANGED = {"남궁현": "선임연구위원", "정하은": "청소년의회 부의장"}  # positions that changed during the season


def _draft(someone: Someone, **changes: Any) -> persons.Draft:
    values = {"name": someone.name, "kind": someone.kind, "organisation": someone.organisation,
              "position": someone.position, "tags": someone.tags, "phone": someone.phone, "email": someone.email,
              "address": someone.address, "notes": someone.notes}
    return persons.Draft(**{**values, **changes})


def _person_id(desk: Any, name: str) -> int | None:
    session: Session = desk.session
    return session.execute(select(Person.id).where(Person.name == name, Person.erased_at.is_(None))).scalar()


def _remark_id(desk: Any, index: int) -> int | None:
    session: Session = desk.session
    said = demo_schedule.REMARKS[index][0]
    return session.execute(select(Remark.id).where(Remark.text == said).limit(1)).scalar()


def _case_id(desk: Any, title: str) -> str | None:
    session: Session = desk.session
    return session.execute(select(Instance.id).where(
        Instance.process_key.in_(("directive", "pledge")), Instance.data["title"].as_string() == title)
        .order_by(Instance.started_at).limit(1)).scalar()


def _link(desk: Any, by: str, person_id: int, kind: str, target: str, role: str) -> None:
    commands.link_person(desk.session, desk.ctx, desk.who(by), person_id, kind, target, role)


def _entries(desk: Any, starts: datetime, ends: datetime) -> list[ScheduleEvent]:
    return list(desk.session.execute(select(ScheduleEvent).where(
        ScheduleEvent.owner == "mayor", ScheduleEvent.starts_at >= starts, ScheduleEvent.starts_at < ends,
        ScheduleEvent.cancelled_at.is_(None)).order_by(ScheduleEvent.starts_at)).scalars())


def _guests(desk: Any, event: ScheduleEvent) -> list[int]:
    found = [_person_id(desk, someone.name) for someone in PEOPLE if someone.guest and someone.guest in event.guests]
    return [person_id for person_id in found if person_id is not None]


def _season(scene: Any) -> Story:
    """Registered at the start of the season; each Friday the week's guests linked and next week's
    called; on the last working day the remarks, the cases and the coming weeks' entries linked."""
    desk = scene.history
    city = desk.city
    monday = city.today(desk.now) - timedelta(days=city.today(desk.now).weekday())
    first = monday - timedelta(weeks=demo_schedule.WEEKS_BACK, days=4)
    yield desk.moment(desk.working_day(first, 0), time(10, 0))
    for someone in PEOPLE:
        commands.add_person(desk.session, desk.ctx, desk.who(someone.by), _draft(someone))
        yield desk.clock.now + timedelta(minutes=scene.rng.randint(4, 15))
    last = desk.clock.now
    for back in range(demo_schedule.WEEKS_BACK, -1, -1):
        week = monday - timedelta(weeks=back)
        day = min(week + timedelta(days=4), desk.last_day)
        calling = max(desk.moment(day, time(16, 40)), last)
        yield calling  # next week's guests called to arrange the meetings
        for event in _entries(desk, city.utc(city.at(week + timedelta(weeks=1), 0)),
                              city.utc(city.at(week + timedelta(weeks=2), 0))):
            if event.kind in ("면담", "행사"):
                for person_id in _guests(desk, event):
                    commands.read_personal_data(desk.session, desk.ctx, desk.who(SECRETARY), person_id, "일정 조율")
        linking = max(desk.moment(day, time(17, 20)), desk.clock.now)
        yield linking  # this week's guests linked to the entries they came to
        for event in _entries(desk, city.utc(city.at(week, 0)), min(linking, city.utc(city.at(day, 23)))):
            for person_id in _guests(desk, event):
                _link(desk, AIDE, person_id, "schedule", str(event.id), "참석")
        last = desk.clock.now
    yield max(desk.moment(desk.last_day, time(17, 40)), last)
    for event in _entries(desk, desk.clock.now, desk.clock.now + timedelta(weeks=3)):
        for person_id in _guests(desk, event):
            _link(desk, SECRETARY, person_id, "schedule", str(event.id), "참석 예정")
    for someone in PEOPLE:
        found = _person_id(desk, someone.name)
        if found is None:
            continue
        for index, role in someone.remarks:
            remark_id = _remark_id(desk, index)
            if remark_id is not None:
                _link(desk, AIDE, found, "remark", str(remark_id), role)
        for title, role in someone.cases:
            case_id = _case_id(desk, title)
            if case_id is not None:
                _link(desk, AIDE, found, "case", case_id, role)


def _erased_on_request(scene: Any) -> Story:
    """A resident's complaint answered; two weeks ago she asked, by phone, to be erased."""
    desk = scene.history
    yield scene.ago(30)
    person_id = commands.add_person(desk.session, desk.ctx, desk.who(AIDE), _draft(ERASED)).id
    yield scene.ago(15)
    remark_id = _remark_id(desk, ERASED.remarks[0][0])
    if remark_id is not None:
        _link(desk, AIDE, person_id, "remark", str(remark_id), "언급")
    yield scene.ago(14)
    commands.read_personal_data(desk.session, desk.ctx, desk.who(AIDE), person_id, "민원 회신")
    yield scene.ago(9)
    commands.erase_person(desk.session, desk.ctx, desk.who(AIDE), person_id, "전화")


def _changes(scene: Any) -> Story:
    """Positions change; the aide corrects the register (the contacts left as they are)."""
    desk = scene.history
    for age, (name, position) in zip((22, 6), CHANGED.items(), strict=True):
        yield scene.ago(age)
        someone = next(s for s in PEOPLE if s.name == name)
        person_id = _person_id(desk, name)
        if person_id is not None:
            commands.change_person(desk.session, desk.ctx, desk.who(AIDE), person_id, _draft(
                someone, position=position, phone=None, email=None, address=None, notes=None))


def _follow_ups(scene: Any) -> Story:
    """The mayor and the aide read a few contacts themselves: to follow up a meeting, to invite."""
    desk = scene.history
    for age, who, name, purpose in ((35, "mayor", "윤서영", "면담 후속 조치"), (25, AIDE, "한기석", "행사 초청"),
                                    (18, AIDE, "배경호", "자문 요청"), (12, AIDE, "차미란", "행사 초청"),
                                    (7, "mayor", "최상길", "면담 후속 조치"), (3, AIDE, "전민수", "민원 회신")):
        yield scene.ago(age)
        person_id = _person_id(desk, name)
        if person_id is not None:
            commands.read_personal_data(desk.session, desk.ctx, desk.who(who), person_id, purpose)


def stories(scene: Callable[[str], Any]) -> list[Story]:
    """The season of the 인물 register; ``scene(name)`` gives each its view of the calendar."""
    return [_season(scene("persons:season")), _erased_on_request(scene("persons:erased")),
            _changes(scene("persons:changes")), _follow_ups(scene("persons:follow-ups"))]
