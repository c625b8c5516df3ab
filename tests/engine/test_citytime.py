"""The city's time: dates read in its zone, working days that know 설날, 추석 and substitute holidays,
moments kept in UTC by the database, and the same helpers in the scripts designers write."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError
from sqlalchemy import select, text
from sqlalchemy.exc import StatementError

from engine.citytime import CityTime
from engine.clock import MovableClock
from engine.config import Settings, get_settings
from engine.context import EngineContext
from engine.db import Database
from engine.models import ProcessVersion
from engine.worker import Worker
from tests.api.conftest import _quick_password_hashing, settings  # noqa: F401 - fixtures of the city
from tests.engine.helpers import Driver, bpmn, chain, process, script_task, user_task, write_folder
from tests.workflows.conftest import City, city  # noqa: F401 - the demo city hall
from tests.workflows.test_field_report import acknowledgement_falls_due, data, file_report, notified, until

SEOUL = ZoneInfo("Asia/Seoul")
START, END = '<bpmn:startEvent id="start"/>', '<bpmn:endEvent id="end"/>'


@pytest.fixture
def seoul() -> CityTime:
    return CityTime(SEOUL)


# -- the calendar -------------------------------------------------------------------------------


def test_chuseok_2027_is_three_days_off_in_the_middle_of_the_week(seoul: CityTime) -> None:
    assert [seoul.is_working_day(f"2027-09-{day}") for day in range(13, 18)] == [True, False, False, False, True]


def test_one_working_day_after_the_eve_of_chuseok_2027_is_the_friday_after(seoul: CityTime) -> None:
    assert seoul.add_working_days("2027-09-13T10:00:00+09:00", 1).isoformat() == "2027-09-17T10:00:00+09:00"
    assert seoul.add_working_days(date(2027, 9, 13), 1) == date(2027, 9, 17)


def test_chuseok_2025_with_its_substitute_day_and_hangul_day_closes_a_whole_week(seoul: CityTime) -> None:
    # 개천절 Fri 3 Oct, the weekend, 추석 6-7 Oct, 대체공휴일 8 Oct, 한글날 9 Oct.
    assert not seoul.is_working_day("2025-10-08")
    assert seoul.add_working_days("2025-10-02T10:00:00+09:00", 1).isoformat() == "2025-10-10T10:00:00+09:00"
    assert seoul.working_days_between("2025-10-02", "2025-10-10") == 1


def test_childrens_day_2025_on_a_monday_shared_with_buddhas_birthday_gives_a_substitute_tuesday(
    seoul: CityTime,
) -> None:
    assert not seoul.is_working_day("2025-05-05")
    assert not seoul.is_working_day("2025-05-06")  # 대체공휴일
    assert seoul.add_working_days(date(2025, 5, 2), 1) == date(2025, 5, 7)


def test_a_utc_evening_that_is_already_a_holiday_in_the_city_counts_from_nine_on_the_next_working_day(
    seoul: CityTime,
) -> None:
    thursday_evening_in_utc = datetime(2025, 10, 2, 16, 0, tzinfo=UTC)  # Fri 3 Oct 01:00 in Seoul: 개천절
    assert seoul.day(thursday_evening_in_utc) == date(2025, 10, 3)
    assert not seoul.is_working_day(thursday_evening_in_utc)
    assert seoul.add_working_days(thursday_evening_in_utc, 1).isoformat() == "2025-10-13T09:00:00+09:00"


def test_a_report_received_on_a_saturday_is_due_on_tuesday_morning(seoul: CityTime) -> None:
    assert seoul.add_working_days("2026-12-12T15:30:00+09:00", 1).isoformat() == "2026-12-15T09:00:00+09:00"
    assert seoul.add_working_days("2026-12-12T15:30:00+09:00", 0).isoformat() == "2026-12-14T09:00:00+09:00"


def test_the_citys_own_day_off_is_no_working_day() -> None:
    suwon = CityTime(SEOUL, frozenset({date(2027, 10, 8)}))  # a Friday, say 시민의 날
    assert not suwon.is_working_day("2027-10-08")
    assert suwon.add_working_days(date(2027, 10, 7), 1) == date(2027, 10, 12)  # 한글날's substitute is Mon 11
    assert CityTime(SEOUL).add_working_days(date(2027, 10, 7), 1) == date(2027, 10, 8)


def test_counting_working_days_between_two_days_undoes_adding_them(seoul: CityTime) -> None:
    start = date(2027, 9, 10)
    for days in range(0, 30):
        assert seoul.working_days_between(start, seoul.add_working_days(start, days)) == days
    assert seoul.working_days_between("2027-09-17", "2027-09-13") == -1


def test_working_days_are_counted_forwards_and_not_forever(seoul: CityTime) -> None:
    with pytest.raises(ValueError, match="forwards"):
        seoul.add_working_days("2027-09-13", -1)
    with pytest.raises(ValueError, match="at most"):
        seoul.add_working_days("2027-09-13", 10**9)
    with pytest.raises(ValueError, match="at most"):
        seoul.working_days_between("0001-01-01", "9999-12-31")


def test_a_time_without_an_offset_is_city_time_and_comes_back_with_the_citys_offset(seoul: CityTime) -> None:
    assert seoul.local("2026-12-07T00:00:00Z").isoformat() == "2026-12-07T09:00:00+09:00"
    assert seoul.local("2026-12-07T09:00").isoformat() == "2026-12-07T09:00:00+09:00"
    assert seoul.utc("2026-12-07T09:00") == datetime(2026, 12, 7, 0, 0, tzinfo=UTC)
    assert seoul.at("2027-01-01", 9).isoformat() == "2027-01-01T09:00:00+09:00"
    assert seoul.today(datetime(2026, 12, 6, 15, 0, tzinfo=UTC)) == date(2026, 12, 7)


# -- the settings --------------------------------------------------------------------------------


def test_an_unknown_time_zone_stops_the_start_naming_the_value(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CITYFLOW_TIMEZONE", "Asia/Seol")
    with pytest.raises(ValidationError, match="CITYFLOW_TIMEZONE='Asia/Seol' is not a known time zone"):
        Settings()


def test_the_citys_days_off_are_read_as_a_list_of_dates(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CITYFLOW_EXTRA_HOLIDAYS", "2027-10-08, 2028-10-09")
    assert Settings().extra_holidays == (date(2027, 10, 8), date(2028, 10, 9))
    monkeypatch.setenv("CITYFLOW_EXTRA_HOLIDAYS", "2027-10-08,10월 8일")
    with pytest.raises(ValidationError, match="'10월 8일' is not a date"):
        Settings()


def test_the_city_is_seoul_unless_told_otherwise(monkeypatch: pytest.MonkeyPatch) -> None:
    assert CityTime.from_settings(Settings()) == CityTime(SEOUL)
    monkeypatch.setenv("CITYFLOW_TIMEZONE", "Europe/Berlin")
    assert CityTime.from_settings(Settings()).local("2026-12-07T00:00:00Z").isoformat() == "2026-12-07T01:00:00+01:00"


# -- the database keeps UTC ----------------------------------------------------------------------


def _version(deployed_at: datetime) -> ProcessVersion:
    return ProcessVersion(key="k", version=1, hash="h" * 64, name="k", entry_point="k", files={}, spec={},
                          deployed_at=deployed_at, deployed_by="designer")


def test_a_moment_comes_back_from_either_database_aware_and_in_utc(database: Database) -> None:
    _store(database, _version(datetime(2027, 9, 13, 10, 0, tzinfo=SEOUL)))
    with database.unit_of_work() as session:
        if database.dialect == "postgresql":
            session.execute(text("SET LOCAL TIME ZONE 'Asia/Seoul'"))  # the server's zone does not leak through
        stored = session.execute(select(ProcessVersion.deployed_at)).scalar_one()
        earlier = session.execute(select(ProcessVersion.id).where(
            ProcessVersion.deployed_at < datetime(2027, 9, 13, 10, 30, tzinfo=SEOUL))).scalars().all()
    assert stored == datetime(2027, 9, 13, 1, 0, tzinfo=UTC)
    assert stored.tzinfo is UTC
    assert len(earlier) == 1


def _store(database: Database, version: ProcessVersion) -> None:
    with database.unit_of_work() as session:
        session.add(version)


def test_a_moment_without_a_time_zone_is_refused_by_either_database(database: Database) -> None:
    with pytest.raises(StatementError, match="naive datetime 2027-09-13T10:00:00"):
        _store(database, _version(datetime(2027, 9, 13, 10, 0)))


# -- scripts and timers count with the same calendar ----------------------------------------------

HELPERS_SCRIPT = """
received_on = today().isoformat()
received_at = local(now()).isoformat()
working = is_working_day(received_at)
acknowledge_by = add_working_days(received_at, 1).isoformat()
days_between = working_days_between(received_at, acknowledge_by)
first_quarter = local_at(date(2028, 1, 1), 9).isoformat()
"""


def _deploy(driver: Driver, tmp_path: Path, key: str, body: str) -> None:
    driver.deploy(write_folder(tmp_path, key, {f"{key}.bpmn": bpmn(process(key, body))}))


def test_a_script_counts_the_acknowledgement_across_chuseok_in_city_time(database: Database, tmp_path: Path) -> None:
    clock = MovableClock(datetime(2027, 9, 12, 16, 0, tzinfo=UTC))  # Sunday in UTC, Monday 01:00 in Seoul
    driver = Driver(database, EngineContext.create(clock=clock))
    _deploy(driver, tmp_path, "helpers", START + script_task("count", HELPERS_SCRIPT) + user_task("look")
            + END + chain("start", "count", "look", "end"))
    found = driver.instance(driver.start("helpers")).data
    assert (found["received_on"], found["received_at"], found["working"]) == (
        "2027-09-13", "2027-09-13T01:00:00+09:00", True)
    assert (found["acknowledge_by"], found["days_between"]) == ("2027-09-17T01:00:00+09:00", 1)
    assert found["first_quarter"] == "2028-01-01T09:00:00+09:00"


def test_the_citys_own_day_off_from_the_settings_reaches_the_scripts(
    database: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CITYFLOW_EXTRA_HOLIDAYS", "2027-09-17")
    get_settings.cache_clear()
    clock = MovableClock(datetime(2027, 9, 13, 1, 0, tzinfo=UTC))
    driver = Driver(database, EngineContext.create(clock=clock))
    _deploy(driver, tmp_path, "helpers", START + script_task("count", HELPERS_SCRIPT) + user_task("look")
            + END + chain("start", "count", "look", "end"))
    assert driver.instance(driver.start("helpers")).data["acknowledge_by"] == "2027-09-20T10:00:00+09:00"


def test_a_timer_written_without_an_offset_fires_at_that_time_in_the_city(database: Database, tmp_path: Path) -> None:
    clock = MovableClock(datetime(2027, 9, 13, 0, 0, tzinfo=UTC))
    driver = Driver(database, EngineContext.create(clock=clock))
    waiting = ('<bpmn:intermediateCatchEvent id="until_nine"><bpmn:timerEventDefinition id="td">'
               "<bpmn:timeDate>2027-09-17T09:00</bpmn:timeDate></bpmn:timerEventDefinition>"
               "</bpmn:intermediateCatchEvent>")
    _deploy(driver, tmp_path, "appointment", START + waiting + user_task("after") + END
            + chain("start", "until_nine", "after", "end"))
    instance = driver.start("appointment")
    worker = Worker(database, driver.ctx, Settings(var_dir=tmp_path / "var", audit_key="test-audit-key"))
    clock.set(datetime(2027, 9, 16, 23, 59, tzinfo=UTC))  # 08:59 in Seoul
    assert worker.drain().timers == 0
    clock.advance(minutes=1)
    assert worker.drain().timers == 1
    assert driver.ready(instance) == ["after"]


def test_a_task_due_on_a_date_is_due_at_the_end_of_that_day_in_the_city(database: Database, tmp_path: Path) -> None:
    driver = Driver(database, EngineContext.create(clock=MovableClock(datetime(2027, 9, 13, 0, 0, tzinfo=UTC))))
    _deploy(driver, tmp_path, "due", START + user_task("answer", attrs='camunda:dueDate="${planned_on}"')
            + END + chain("start", "answer", "end"))
    instance = driver.start("due", {"planned_on": "2027-09-17"})
    assert driver.open_task(instance, "answer").due_at == datetime(2027, 9, 17, 14, 59, tzinfo=UTC)


# -- the field report ---------------------------------------------------------------------------


def test_acknowledgement_deadline_skips_chuseok_when_reported_on_its_eve(city: City) -> None:  # noqa: F811
    city.clock.set(datetime(2027, 9, 13, 1, 0, tzinfo=UTC))  # Monday 10:00 in Seoul, 추석 from Tuesday
    report_id = file_report(city)
    acknowledgement_falls_due(city, report_id, "2027-09-17T10:00:00+09:00", datetime(2027, 9, 17, 1, 0, tzinfo=UTC))


def test_acknowledgement_deadline_skips_chuseok_and_its_substitute_day(city: City) -> None:  # noqa: F811
    # Thursday 2 Oct 2025, 16:00 UTC: already 개천절 in Seoul; then 추석, its 대체공휴일 and 한글날.
    city.clock.set(datetime(2025, 10, 2, 16, 0, tzinfo=UTC))
    report_id = file_report(city)
    report = data(city, report_id)
    assert report["received_at"] == "2025-10-03T01:00:00+09:00"
    assert report["acknowledge_by"] == "2025-10-13T09:00:00+09:00"
    assert until(city, datetime(2025, 10, 12, 23, 59, tzinfo=UTC)).timers == 0
    assert city.later(minutes=1).timers == 1
    assert len(notified(city, "roads.chief", report_id)) == 1
