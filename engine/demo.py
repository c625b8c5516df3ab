"""The demo city hall: a mayor, a planning office, two bureaus, five departments, their people —
and the last months of their work.

``cityflow init --demo`` seeds it so a new user can log in and see a working city hall: the
organisation (``seed_organisation``), then months of directives, pledges, field reports, approval
documents and suggestions in every state their processes have (``seed_instances``; the cases
themselves are data, in ``engine.demo_city``). Every demo login shares one password, printed by
``make run``; never use it in production.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Callable, Generator
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import (
    access,
    commands,
    demo_city,
    demo_indicators,
    demo_issues,
    demo_persons,
    demo_records,
    demo_schedule,
    identity,
    notifications,
    remarks,
    schedule,
    worker,
    worklist,
)
from engine.attachments import BlobStore, add_attachment
from engine.citytime import CityTime
from engine.clock import MovableClock
from engine.context import EngineContext
from engine.demo_photos import street_photo
from engine.identity import Principal, add_department, add_user
from engine.models import ERROR, RUNNING, Department, Instance, ScheduleEvent, Timer, User

DEMO_PASSWORD = "cityflow-demo"  # noqa: S105 - the published password of the demo logins only

# code, name, kind, parent
DEPARTMENTS = [
    ("mayor_office", "시장실", "실", None),
    ("planning", "기획조정실", "실", None),
    ("safety_bureau", "안전교통국", "국", None),
    ("welfare_bureau", "복지환경국", "국", None),
    ("roads", "도로과", "과", "safety_bureau"),
    ("traffic", "교통정책과", "과", "safety_bureau"),
    ("welfare", "복지정책과", "과", "welfare_bureau"),
    ("environment", "환경정책과", "과", "welfare_bureau"),
    ("recycling", "자원순환과", "과", "welfare_bureau"),
]

RANKS = {"주무관": 1, "팀장": 2, "과장": 3, "국장": 4, "부시장": 5, "시장": 6}

# A 전자결재 the demo's people put through in three steps, as the load tests and the P3 benchmark draft it:
# a 예산 of 1억 원 wants a 국장 by the delegation rules, so the chief's 검토 is a review, not a 전결, and
# the director gives the 결재.
SAMPLE_DRAFTER = "roads.staff"
SAMPLE_APPROVERS = ("roads.lead", "roads.chief", "safety.director")
SAMPLE_APPROVAL: dict[str, Any] = {
    "doc_type": "예산", "title": "보도 정비 계획", "body": "시청 앞 보도를 정비합니다.", "amount": 100_000_000,
    "line": [{"kind": "검토", "people": [{"user": "roads.lead"}]},
             {"kind": "검토", "people": [{"user": "roads.chief"}]},
             {"kind": "결재", "people": [{"user": "safety.director"}]}],
}
SAMPLE_DECISIONS: dict[str, dict[str, Any]] = {  # by the task's element id
    "review": {"decision": "승인", "comment": "확인했습니다."},
    "approve": {"decision": "결재", "comment": "결재합니다."},
}


@dataclass(frozen=True)
class DemoUser:
    username: str
    name: str
    department: str
    position: str
    roles: tuple[str, ...] = ("staff",)
    groups: tuple[str, ...] = ()


def _department_people(code: str, surname: str) -> list[DemoUser]:
    return [
        DemoUser(f"{code}.chief", f"{surname}과장", code, "과장"),
        DemoUser(f"{code}.lead", f"{surname}팀장", code, "팀장"),
        DemoUser(f"{code}.staff", f"{surname}주무관", code, "주무관"),
    ]


PEOPLE: list[DemoUser] = [
    DemoUser("mayor", "시장", "mayor_office", "시장", groups=("issuers",)),
    DemoUser("vice.mayor", "부시장", "mayor_office", "부시장", groups=("issuers",)),
    # The 수행비서 keeps the mayor's schedule.
    DemoUser("mayor.secretary", "한수행", "mayor_office", "주무관", groups=("schedule:mayor",)),
    # 비서실 대외협력 담당: keeps the register of people the mayor meets (인물관리).
    DemoUser("mayor.aide", "윤대외", "mayor_office", "주무관", groups=("인물관리",)),
    DemoUser("planning.chief", "기획조정실장", "planning", "국장"),
    DemoUser("planning.lead", "정책기획팀장", "planning", "팀장"),
    # 기록물관리 담당: lists and reviews the records past their retention (records_disposal).
    DemoUser("planning.staff", "정책기획 주무관", "planning", "주무관", groups=("기록물관리",)),
    DemoUser("safety.director", "안전교통국장", "safety_bureau", "국장"),
    DemoUser("welfare.director", "복지환경국장", "welfare_bureau", "국장"),
    *_department_people("roads", "김"),
    *_department_people("traffic", "이"),
    *_department_people("welfare", "박"),
    *_department_people("environment", "최"),
    *_department_people("recycling", "정"),
    DemoUser("auditor", "감사관", "planning", "과장", roles=("auditor",)),
    DemoUser("designer", "업무설계 담당", "planning", "주무관", roles=("staff", "designer")),
    DemoUser("admin", "시스템 관리자", "planning", "주무관", roles=("admin",)),
]


def seed_organisation(session: Session, actor: str = "system:demo") -> list[DemoUser]:
    """Create the demo departments and users that are missing; returns the users created."""
    existing = set(session.execute(select(User.username)).scalars())
    for code, name, kind, parent in DEPARTMENTS:
        if session.get(Department, code) is None:
            add_department(session, code, name, kind, parent)
            session.flush()
    created = []
    for person in PEOPLE:
        if person.username in existing:
            continue
        add_user(
            session,
            person.username,
            DEMO_PASSWORD,
            actor=actor,
            display_name=person.name,
            roles=person.roles,
            groups=person.groups,
            department=person.department,
            position=person.position,
            rank=RANKS[person.position],
        )
        created.append(person)
    session.flush()
    return created


# -- a living city hall: months of history, played through the engine ------------------------
#
# Every case of ``engine.demo_city`` is a *story*: a generator that yields the moment of its next
# step and then takes it, as the person who would, through ``engine.commands``. The stories are
# played together in the order of their moments on a clock moved back in time, and before each
# moment the worker's own commands fire the timers and run the jobs that fell due meanwhile, each
# at its own moment — so start times, task times, due dates, notifications and the audit trail
# read as months of work, and every audit chain verifies. Nothing happens after the last working
# day before today; what the worker still has to do until now, it does when seeding ends.

Story = Generator[datetime, None, None]

OFFICE_OPENS, OFFICE_CLOSES = time(9, 0), time(18, 0)


class DemoStoryFailed(RuntimeError):
    """A demo case could not be played as written (a bug of the demo data, never of a user)."""


class _History:
    """The demo's clock, its engine context on that clock, and the desk its people act at."""

    def __init__(self, session: Session, ctx: EngineContext, blobs: BlobStore) -> None:
        self.session, self.blobs = session, blobs
        self.city = CityTime.from_settings()
        self.now = ctx.clock()
        today = self.city.today(self.now)
        self.last_day = self.working_day(today, -1)
        self.horizon = self.city.utc(self.city.at(self.last_day, OFFICE_CLOSES.hour))
        self.clock = MovableClock(self.now)
        self.ctx = replace(EngineContext.create(clock=self.clock, form_check=ctx.form_check), bundles=ctx.bundles)
        self.started = 0
        self._changed = True
        self._next_timer: Any = None
        self._people: dict[tuple[str, tuple[bool, ...]], Principal] = {}
        self._absences: list[tuple[datetime, datetime]] = []
        self._read: set[tuple[str, date]] = set()
        self._organisation: dict[str, dict[str, Any]] | None = None

    # ---- the calendar
    def working_day(self, day: date, offset: int) -> date:
        """The working day ``offset`` working days after ``day`` (before it, when negative)."""
        step = 1 if offset >= 0 else -1
        remaining = abs(offset)
        while remaining or not self.city.is_working_day(day):
            day += timedelta(days=step)
            if self.city.is_working_day(day):
                remaining = max(0, remaining - 1)
        return day

    def moment(self, day: date, at: time) -> datetime:
        return self.city.utc(self.city.at(day, at.hour, at.minute))

    # ---- the play
    def play(self, stories: list[Story]) -> None:
        """Play the stories together, each step at its moment, the worker's between them."""
        waiting: list[tuple[datetime, int, Story]] = []
        for number, story in enumerate(stories):
            heapq.heappush(waiting, (next(story), number, story))
        self.clock.set(min(at for at, _, _ in waiting))
        while waiting:
            at, number, story = heapq.heappop(waiting)
            if at > self.horizon:
                continue  # what would come next has not happened yet
            self.settle(at)
            following = next(story, None)
            self.session.flush()
            self.session.expunge_all()  # months of cases need not stay in the session's identity map
            if following is not None:
                heapq.heappush(waiting, (following, number, story))
        self.settle(self.now)

    def settle(self, until: datetime) -> None:
        """Let the worker do what fell due up to ``until``: every job at once, every timer at its moment."""
        for _ in range(100_000):
            if self._changed:  # only a step of some case makes jobs, or moves the next timer
                self._changed = False
                jobs = worker.due_jobs(self.session, self.clock.now)
                for job_id, instance_id in jobs:
                    outcome = worker.run_job(self.session, self.ctx, job_id, instance_id)
                    if outcome not in ("done", "skipped"):
                        raise DemoStoryFailed(f"a job of {instance_id} failed: {outcome}")
                    self._changed = True
                if jobs:
                    continue
                self._next_timer = self.session.execute(
                    select(Timer.id, Timer.instance_id, Timer.due_at).order_by(Timer.due_at, Timer.id).limit(1)).first()
            due = self._next_timer
            if due is None or due.due_at > until:
                break
            self.clock.set(max(self.clock.now, due.due_at))
            if not worker.fire_timer(self.session, self.ctx, due.id, due.instance_id):
                raise DemoStoryFailed(f"the timer {due.id} of {due.instance_id} would not fire")
            self._changed = True
        self.clock.set(max(self.clock.now, until))

    # ---- the desk: acting as the city's people
    def who(self, username: str) -> Principal:
        """The person as authorization sees them now: whom they stand in for changes with the absences."""
        now = self.clock.now
        key = (username, tuple(starts <= now < ends for starts, ends in self._absences))
        if key not in self._people:
            self._people[key] = identity.principal(self.session, identity.get_user(self.session, username),
                                                   self.clock.now)
        return self._people[key]

    def record_absence(self, absence: demo_city.Absence, starts: datetime, ends: datetime) -> None:
        """The absent person records their absence and deputy (대결), as on the web."""
        commands.record_absence(self.session, self.ctx, self.who(absence.user), None, absence.deputy, absence.kind,
                                starts, ends)
        self._absences.append((starts, ends))

    def start(self, username: str, process: str, data: dict[str, Any]) -> str:
        instance = commands.start(self.session, self.ctx, self.who(username), process, data)
        self.started += 1
        return self._checked(instance)

    def act(self, username: str, instance_id: str, element_id: str, data: dict[str, Any]) -> None:
        """``username`` completes the task ``element_id`` of the case (theirs, or an absent colleague's)."""
        person = self.who(username)
        offered = [task for task in worklist.tasks_of(self.session, instance_id)
                   if task.element_id == element_id and access.acting_for(person, task) is not None]
        if not offered:
            waiting = [task.element_id for task in worklist.tasks_of(self.session, instance_id)]
            raise DemoStoryFailed(f"{username} finds no '{element_id}' in {instance_id}; it waits for {waiting}")
        if (username, self.city.today(self.clock.now)) not in self._read:  # at their desk, they read what came
            self._read.add((username, self.city.today(self.clock.now)))
            notifications.mark_all_read(self.session, username, self.clock.now)
        self._checked(commands.complete(self.session, self.ctx, person, offered[0].id, data))

    def data(self, instance_id: str) -> dict[str, Any]:
        return dict(self._instance(instance_id).data)

    def running(self, instance_id: str) -> bool:
        return self._instance(instance_id).status == RUNNING

    def _instance(self, instance_id: str) -> Instance:
        instance = self.session.get(Instance, instance_id)
        if instance is None:
            raise DemoStoryFailed(f"no case {instance_id}")
        return instance

    def photo(self, username: str, instance_id: str, picture: bytes, filename: str) -> str:
        stored = add_attachment(self.session, self.blobs, self.who(username), instance_id, filename, "image/png",
                                picture, at=self.clock.now)
        return f"attachment:{stored.id}"

    def away(self, absence: demo_city.Absence) -> tuple[datetime, datetime]:
        """When ``absence`` begins (before office hours) and ends (at closing time)."""
        first = self.working_day(self.last_day, -absence.starts)
        starts = self.moment(first, time(8, 30))
        ends = self.moment(self.working_day(first, absence.days - 1), OFFICE_CLOSES)
        return starts, ends

    def person(self, username: str) -> dict[str, Any]:
        """A person as a form's person field holds them (the server fills the same in from the organisation)."""
        if self._organisation is None:
            self._organisation = {
                user.username: {"user": user.username, "name": user.display_name, "position": user.position,
                                "rank": user.rank, "department": department}
                for user, department in self.session.execute(
                    select(User, Department.name).outerjoin(Department, Department.code == User.department_code))}
        return dict(self._organisation[username])

    def _checked(self, instance: Instance) -> str:
        """The case's id, once the worker has done what the step left it (as it would in seconds)."""
        if instance.status == ERROR:
            raise DemoStoryFailed(f"{instance.process_key} {instance.id} stopped: {instance.error}")
        self._changed = True
        self.settle(self.clock.now)
        return instance.id


class _Scene:
    """One story's view of the calendar, with its own dice."""

    def __init__(self, history: _History, seed: str) -> None:
        self.history = history
        self.rng = random.Random(seed)  # noqa: S311 - the same demo every time, nothing secret

    def office_time(self, earliest: time = time(9, 5), latest: time = time(17, 30)) -> time:
        minutes = self.rng.randint(earliest.hour * 60 + earliest.minute, latest.hour * 60 + latest.minute)
        return time(minutes // 60, minutes % 60)

    def ago(self, workdays: int) -> datetime:
        """Some time in office hours ``workdays`` working days before the last working day."""
        return self.on(self.history.working_day(self.history.last_day, -workdays))

    def on(self, day: date) -> datetime:
        return self.history.moment(self.history.working_day(day, 0), self.office_time())

    def later(self, workdays: int = 0, minutes: int | None = None) -> datetime:
        """``workdays`` working days on, in office hours; 0: a little later the same day (or the next)."""
        city, now = self.history.city, self.history.clock.now
        if workdays:
            return self.on(self.history.working_day(city.today(now), workdays))
        moment = now + timedelta(minutes=minutes if minutes is not None else self.rng.randint(20, 120))
        local = city.local(moment)
        if city.is_working_day(local) and OFFICE_OPENS <= local.time() <= OFFICE_CLOSES:
            return moment
        return self.history.moment(self.history.working_day(local.date(), 1 if local.time() > OFFICE_OPENS else 0),
                                   self.office_time(time(9, 5), time(10, 30)))

    def today(self) -> str:
        return self.history.city.today(self.history.clock.now).isoformat()

    def day_in(self, days: int) -> date:
        return self.history.city.today(self.history.now) + timedelta(days=days)


def _people_of(department: str) -> tuple[str, str, str]:
    """(head, team leader, officer) of a department, by login."""
    code = demo_city.DEPARTMENT_CODES[department]
    if code == "planning":
        return "planning.chief", "planning.lead", "planning.staff"
    return f"{code}.chief", f"{code}.lead", f"{code}.staff"


# -- 지시사항 --------------------------------------------------------------------------------------


def _directive(scene: _Scene, d: demo_city.Directive) -> Story:
    desk = scene.history
    yield scene.ago(d.age)
    case = desk.start(d.issuer, "directive", {"title": d.title})
    yield scene.later(minutes=scene.rng.randint(3, 15))
    directive: dict[str, Any] = {"title": d.title, "content": d.content, "issuer": d.issuer, "source": d.source,
                 "issued_on": scene.today()}
    if d.photo:  # given on site, from a phone
        address, lat, lon = demo_city.PLACES[d.place]
        directive["photos"] = [desk.photo(d.issuer, case, street_photo(d.photo, d.place), "현장사진.png")]
        directive["location"] = {"lat": lat, "lon": lon, "address": address}
    desk.act(d.issuer, case, "register_directive", directive)
    if d.fate == demo_city.CLASSIFY:
        return
    deadline = desk.city.local(desk.moment(scene.day_in(d.deadline), OFFICE_CLOSES)).isoformat()
    yield scene.later(1)
    desk.act("planning.staff", case, "classify_directive", {
        "term": d.term, "lead_department": d.wrong_department or d.department,
        "support_departments": list(d.support), "deadline": deadline,
        "classification_note": "이행계획을 1주 안에 제출하고 매주 추진상황을 보고하기 바랍니다." if d.term == "단기"
        else "장기 과제로 관리합니다. 매월 추진상황을 보고하기 바랍니다."})
    if d.wrong_department:
        yield scene.later(1)
        desk.act(_people_of(d.wrong_department)[0], case, "accept_directive",
                 {"acceptance": "재지정 요청", "reassignment_reason": d.reassignment})
        return
    if d.fate == demo_city.ACCEPT:
        return
    head, lead, officer = _people_of(d.department)
    yield scene.later(1)
    desk.act(head, case, "accept_directive", {"acceptance": "접수",
             "acceptance_note": "접수했습니다. 이행계획을 곧 제출하겠습니다."})
    if d.fate == demo_city.PLAN:
        return
    yield scene.later(2)
    target = min(scene.day_in(d.deadline), scene.day_in(120))
    desk.act(lead, case, "submit_plan", {"action_plan": d.plan, "plan_target_on": target.isoformat()})
    under_way = d.fate == demo_city.REPORT
    reports = d.progress[:d.reports] if under_way else d.progress
    for number, report in enumerate(reports, start=1):
        yield scene.later(4 if d.term == "단기" else 15)
        desk.act(officer, case, "report_progress", {
            "progress_report": report, "progress_rate": 100 * number // len(d.progress),
            "finished": not under_way and number == len(reports)})
    if under_way:
        return
    yield scene.later(2)
    desk.act(lead, case, "report_completion", {"completion_report": d.completion, "completed_on": scene.today()})
    if d.fate == demo_city.REVIEW:
        return
    yield scene.later(2)
    review: dict[str, Any] = {
        demo_city.CLOSED: {"review_decision": "종결", "review_comment": "지시 사항을 충실히 이행했습니다. 종결합니다."},
        demo_city.CONTINUE: {"review_decision": "계속관리", "review_comment": d.review,
                             "new_deadline": desk.city.local(desk.moment(scene.day_in(30), OFFICE_CLOSES)).isoformat()},
        demo_city.REINSTRUCT: {"review_decision": "재지시", "review_comment": "추가 조치가 필요합니다.",
                               "new_instructions": d.review},
        demo_city.ACKNOWLEDGE: {"review_decision": "추진불가", "infeasible_reason": d.review},
        demo_city.INFEASIBLE: {"review_decision": "추진불가", "infeasible_reason": d.review},
    }[d.fate]
    desk.act("planning.lead", case, "review_directive", review)
    if d.fate == demo_city.INFEASIBLE:
        yield scene.later(1)
        desk.act(d.issuer, case, "acknowledge_infeasible",
                 {"acknowledgement_comment": "확인했습니다. 대안을 찾아 보고하세요."})


# -- 현장행정 --------------------------------------------------------------------------------------

_ROUTES = {"도로파손": "도로과", "가로등": "도로과", "불법주정차": "교통정책과", "쓰레기": "자원순환과",
           "환경오염": "환경정책과", "위기가구": "복지정책과", "기타": "기획조정실"}


def _field_report(scene: _Scene, number: int, r: demo_city.FieldReport) -> Story:
    desk = scene.history
    yield scene.ago(r.age)
    case = desk.start(r.reporter, "field_report", {})
    yield scene.later(minutes=scene.rng.randint(3, 12))
    address, lat, lon = demo_city.PLACES[r.place]
    before = desk.photo(r.reporter, case, street_photo(r.category, number % 4), "현장사진.png")
    desk.act(r.reporter, case, "file_report", {
        "photos_before": [before], "location": {"lat": lat, "lon": lon, "address": address},
        "category": r.category, "description": r.description, "urgency": "긴급" if r.urgent else "보통"})
    if r.fate == demo_city.RECEIVED:
        return
    _, lead, officer = _people_of(_ROUTES[r.category])
    yield scene.later(minutes=scene.rng.randint(10, 40) if r.urgent else scene.rng.randint(40, 300))
    fix_on = desk.working_day(desk.city.today(desk.clock.now), r.days_to_fix)
    desk.act(lead, case, "acknowledge_report", {"acknowledge_note": r.plan, "planned_fix_on": fix_on.isoformat()}
             if r.plan else {})
    if r.fate == demo_city.IN_HAND:
        return
    yield scene.later(r.days_to_fix)
    after = desk.photo(officer, case, street_photo(r.category, number % 4, fixed=True), "조치후사진.png")
    desk.act(officer, case, "resolve_report", {"photo_after": after, "resolution": r.resolution})


# -- 시민약속사업 ----------------------------------------------------------------------------------

def _quarter_starts(history: _History) -> tuple[date, date]:
    """The two quarters every pledge has reported on: the last to start a month before the
    horizon, and the one before it."""
    last_day = history.last_day - timedelta(days=30)
    latest = date(last_day.year, (last_day.month - 1) // 3 * 3 + 1, 1)
    month = latest.month - 3
    return (date(latest.year - (month < 1), (month - 1) % 12 + 1, 1), latest)


def _pledge(scene: _Scene, p: demo_city.Pledge) -> Story:
    desk = scene.history
    first_quarter, _ = _quarter_starts(desk)
    yield scene.on(first_quarter - timedelta(days=scene.rng.randint(10, 35)))
    milestones = [{"title": title, "year": year, "target": target, "done": False}
                  for title, year, target in p.milestones]
    case = desk.start("planning.staff", "pledge", {
        "title": p.title, "category": p.category, "department": p.department,
        "bureau": demo_city.BUREAU_OF[p.department], "target_year": p.target_year, "budget": p.budget,
        "milestones": milestones})
    for number, planned in enumerate(p.rounds):
        stops = p.stops if number == len(p.rounds) - 1 else ""
        yield from _quarterly_report(scene, p, case, milestones, planned, stops)
        if stops:
            return
    while desk.running(case):  # the quarters since, reported as usual once their report is done
        data = desk.data(case)
        due = desk.city.day(datetime.fromisoformat(data["report_due_at"]))
        if desk.moment(desk.working_day(due, 8), OFFICE_CLOSES) > desk.horizon:
            return  # the department is still writing this quarter's report
        routine = demo_city.ROUTINE_REPORTS[int(data["report_count"]) % len(demo_city.ROUTINE_REPORTS)]
        done = sum(bool(milestone["done"]) for milestone in data["milestones"])
        yield from _quarterly_report(scene, p, case, milestones, demo_city.Round(done, routine, spent=0), "")


def _quarterly_report(scene: _Scene, p: demo_city.Pledge, case: str, milestones: list[dict[str, Any]],
                      planned: demo_city.Round, stops: str) -> Story:
    """The department reports a few days into the quarter; the planning office checks it (maybe sends
    it back first) and approves a status change proposed — unless the pledge ``stops`` on the way."""
    desk = scene.history
    lead = _people_of(p.department)[1]
    data = desk.data(case)
    due = desk.city.day(datetime.fromisoformat(data["report_due_at"]))
    yield scene.on(desk.working_day(due, scene.rng.randint(3, 7)))
    if stops == demo_city.LATE:
        return
    for index, milestone in enumerate(milestones):
        milestone["done"] = index < planned.done
    report = {"progress_summary": planned.summary, "reported_milestones": milestones,
              "proposed_status": planned.status or data["status"], "proposal_reason": planned.reason,
              "issues": planned.issues, "budget_executed": planned.spent or int(data.get("budget_executed") or 0)}
    desk.act(lead, case, "report_progress", report)
    if stops == demo_city.CHECKING:
        return
    send_back = planned.sent_back or (demo_city.SEND_BACK if stops == demo_city.SENT_BACK else "")
    if send_back:
        yield scene.later(2)
        desk.act("planning.lead", case, "check_report", {"report_decision": "보완 요청", "review_comment": send_back})
        if stops == demo_city.SENT_BACK:
            return
        yield scene.later(2)
        desk.act(lead, case, "report_progress", {**report,
                 "progress_summary": f"{planned.summary} {demo_city.AMENDED}"})
    yield scene.later(2)
    desk.act("planning.lead", case, "check_report", {"report_decision": "승인"})
    if planned.status:
        if stops == demo_city.STATUS_REVIEW:
            return
        yield scene.later(2)
        desk.act("planning.chief", case, "review_status", {
            "proposed_status": planned.status, "status_decision": "승인", "review_reason": planned.reason})


def _pledge_waiting_details(scene: _Scene) -> Story:
    yield scene.ago(2)
    scene.history.start("planning.staff", "pledge", {"title": demo_city.PLEDGE_WAITING_DETAILS})


# -- 전자결재 --------------------------------------------------------------------------------------


def _document(scene: _Scene, doc: demo_city.Document) -> Story:
    desk = scene.history
    yield scene.ago(doc.age)
    line = [{"kind": kind, "people": [desk.person(user) for user in people]} for kind, people in doc.line]
    document = {"title": doc.title, "body": doc.body, "doc_type": doc.doc_type, "amount": doc.amount, "line": line}
    case = desk.start(doc.drafter, "approval", {**document, **demo_records.record_fields(doc.title)})
    for act in doc.acts:
        yield scene.later(act.days)
        if act.task == "withdraw":
            data: dict[str, Any] = {"confirm_withdraw": True, "withdraw_reason": act.comment}
        elif act.task == "revise_document":
            document = {**document, **act.revision}
            data = {"revise_action": act.decision, **document} if act.decision == "재상신" else {
                "revise_action": act.decision, "revision_note": act.revision.get("revision_note", "")}
        elif act.task == "post_review":
            data = {"post_review_answer": {"acknowledged": True, "note": act.comment}}
        else:
            data = {"decision": act.decision, "comment": act.comment}
        desk.act(act.user, case, act.task, data)


def _absence(scene: _Scene, absence: demo_city.Absence) -> Story:
    desk = scene.history
    starts, ends = desk.away(absence)
    yield desk.moment(desk.working_day(desk.city.day(starts), -1), time(17, 10))
    desk.record_absence(absence, starts, ends)


# -- 단체장 일정 -----------------------------------------------------------------------------------


def _schedule(scene: _Scene) -> Story:
    """The 수행비서 enters the mayor's next week every Friday afternoon; on the last working day, the
    two weeks ahead too."""
    desk = scene.history
    monday = desk.city.today(desk.now) - timedelta(days=desk.city.today(desk.now).weekday())
    for back in range(demo_schedule.WEEKS_BACK, -3, -1):
        week = monday - timedelta(weeks=back)
        entered = min(week - timedelta(days=3), desk.last_day)
        yield desk.moment(entered, time(16, 0)) + timedelta(minutes=10 * max(0, -back))
        secretary = desk.who("mayor.secretary")
        for offset in range(5):
            day = week + timedelta(days=offset)
            if not desk.city.is_working_day(day):
                continue
            count = scene.rng.choice((2, 2, 3))
            if offset == 0:  # Monday opens with the 확대간부회의
                slots = [demo_schedule.MONDAY_MEETING, *scene.rng.sample(demo_schedule.SLOTS, k=count - 1)]
                times = [demo_schedule.TIMES[0], *sorted(scene.rng.sample(demo_schedule.TIMES[1:], k=count - 1))]
            else:
                slots = scene.rng.sample(demo_schedule.SLOTS, k=count)
                times = sorted(scene.rng.sample(demo_schedule.TIMES, k=count))
            for slot, at in zip(slots, times, strict=True):
                starts = desk.moment(day, at)
                commands.add_schedule_entry(desk.session, desk.ctx, secretary, schedule.Draft(
                    owner="mayor", kind=slot.kind, title=slot.title, starts_at=starts,
                    ends_at=starts + timedelta(minutes=slot.minutes), place=slot.place, attendees=slot.attendees,
                    guests=slot.guests, notes=slot.notes, private=slot.private))


def _remarks(scene: _Scene) -> Story:
    """After each Monday 확대간부회의 of the past weeks, the 비서실 writes down what the mayor said."""
    desk = scene.history
    monday = desk.city.today(desk.now) - timedelta(days=desk.city.today(desk.now).weekday())
    for back, (text, tags) in zip(range(len(demo_schedule.REMARKS), 0, -1), demo_schedule.REMARKS, strict=True):
        day = monday - timedelta(weeks=back)
        if not desk.city.is_working_day(day) or day > desk.last_day:
            continue
        yield desk.moment(day, time(11, 30))
        said = desk.moment(day, time(9, 50))
        meeting = desk.session.execute(select(ScheduleEvent.id).where(
            ScheduleEvent.owner == "mayor", ScheduleEvent.title == demo_schedule.MONDAY_MEETING.title,
            ScheduleEvent.starts_at <= said, ScheduleEvent.ends_at > said)).scalar()
        commands.add_remark(desk.session, desk.ctx, desk.who("mayor.secretary"), remarks.Draft(
            speaker="mayor", said_at=said, kind="회의", occasion=demo_schedule.MONDAY_MEETING.title, text=text,
            tags=tags, schedule_entry_id=meeting))


# -- 시민제안 --------------------------------------------------------------------------------------


def _suggestion(scene: _Scene, s: demo_city.Suggestion) -> Story:
    desk = scene.history
    yield scene.ago(s.age)
    case = desk.start(s.proposer, "suggestion", {"title": s.title, "supporters": s.supporters})
    if not s.category:
        return
    yield scene.later(2)
    desk.act("planning.staff", case, "review_suggestion", {"accepted": s.accepted, "category": s.category})
    if not s.answer:
        return
    yield scene.later(5)
    department = {"도로": "도로과", "환경": "환경정책과", "복지": "복지정책과"}[s.category]
    desk.act(_people_of(department)[1], case, "write_answer", {"answer": s.answer, "done_on": scene.today()})


def _stories(history: _History) -> list[Story]:
    def scene(name: str) -> _Scene:
        return _Scene(history, f"cityflow-demo:{name}")

    return [
        *(_absence(scene(f"absence:{n}"), a) for n, a in enumerate([*demo_city.ABSENCES, demo_city.CURRENT_ABSENCE])),
        *(_directive(scene(f"directive:{d.title}"), d) for d in demo_city.DIRECTIVES),
        *(_field_report(scene(f"field_report:{n}"), n, r) for n, r in enumerate(demo_city.FIELD_REPORTS)),
        *(_pledge(scene(f"pledge:{p.title}"), p) for p in demo_city.PLEDGES),
        _pledge_waiting_details(scene("pledge:details")),
        *(_document(scene(f"approval:{doc.title}"), doc) for doc in demo_city.DOCUMENTS),
        *(_suggestion(scene(f"suggestion:{s.title}"), s) for s in demo_city.SUGGESTIONS),
        _schedule(scene("schedule:mayor")),
        _remarks(scene("remarks:mayor")),
        *demo_issues.stories(scene, _people_of),
        *demo_indicators.stories(scene, _people_of),
        *demo_persons.stories(scene),
    ]


def seed_instances(session: Session, ctx: EngineContext, blobs: BlobStore, run_worker: Callable[[], Any]) -> int:
    """Play the demo city hall's last months: every case of ``engine.demo_city``, started and
    acted on by its people at their moments (once: nothing when any case exists). Returns how many
    cases it started; ``run_worker`` then does what fell due until now."""
    if session.execute(select(Instance.id).limit(1)).first() is not None:
        return 0
    history = _History(session, ctx, blobs)
    history.play(_stories(history))
    session.flush()
    run_worker()
    return history.started
