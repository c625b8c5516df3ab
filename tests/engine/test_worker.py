"""The worker as a process: several at once on PostgreSQL fire each timer exactly once (R3),
and e-mail reaches an SMTP server."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import suppress
from datetime import UTC, datetime, timedelta
from email.header import decode_header, make_header
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, func, make_url, select, text

from engine import identity
from engine.clock import MovableClock
from engine.config import Settings
from engine.context import EngineContext
from engine.db import Database
from engine.migrate import upgrade
from engine.models import AuditRecord, OutgoingMail, Timer
from engine.notifications import notify_people
from engine.worker import Worker
from tests.engine.helpers import Driver, bpmn, chain, process, user_task, write_folder
from tests.engine.test_audit_backup import own_postgres

CITYFLOW = Path(sys.executable).parent / "cityflow"
WAIT = ('<bpmn:startEvent id="start"/><bpmn:intermediateCatchEvent id="one_minute"><bpmn:timerEventDefinition id="t">'
        "<bpmn:timeDuration>PT1M</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>"
        + user_task("after") + '<bpmn:endEvent id="end"/>' + chain("start", "one_minute", "after", "end"))


def test_two_workers_fire_a_thousand_due_timers_each_exactly_once(postgres: Database, tmp_path: Path) -> None:
    an_hour_ago = MovableClock(datetime.now(UTC) - timedelta(hours=1))
    driver = Driver(postgres, EngineContext.create(clock=an_hour_ago))
    driver.deploy(write_folder(tmp_path, "wait", {"w.bpmn": bpmn(process("wait", WAIT))}))
    from engine import instances

    with postgres.unit_of_work() as session:
        for _ in range(1000):
            instances.start_instance(session, driver.ctx, "wait", {})
    with postgres.unit_of_work() as session:
        assert session.execute(select(func.count()).select_from(Timer)).scalar_one() == 1000

    env = {**os.environ, "CITYFLOW_DATABASE_URL": postgres.url, "CITYFLOW_VAR_DIR": str(tmp_path / "var"),
           "CITYFLOW_AUDIT_KEY": "test-audit-key"}
    workers = [subprocess.Popen([str(CITYFLOW), "worker", "--once"], env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [w.communicate(timeout=600) for w in workers]
    assert [w.returncode for w in workers] == [0, 0], outputs
    fired_by = [int(out.split("fired ")[1].split(" ")[0]) for out, _ in outputs]
    assert sum(fired_by) == 1000, outputs
    assert all(n > 0 for n in fired_by), f"one worker did all the work: {fired_by}"
    with postgres.unit_of_work() as session:
        assert session.execute(select(func.count()).select_from(Timer)).scalar_one() == 0
        per_instance = session.execute(
            select(AuditRecord.chain, func.count()).where(AuditRecord.action == "timer.fired").group_by(AuditRecord.chain)
        ).all()
    assert len(per_instance) == 1000
    assert {count for _, count in per_instance} == {1}
    assert driver.verify().ok


@pytest.fixture
def own_database() -> Iterator[Database]:
    """A migrated PostgreSQL database of this test's own: the test may close it to connections."""
    urls = own_postgres("worker")
    database = Database(next(urls))
    upgrade(database.engine)
    yield database
    database.dispose()
    next(urls, None)


def _fired_within(database: Database, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with database.unit_of_work() as session:
            if session.execute(select(func.count()).select_from(Timer)).scalar_one() == 0:
                return True
        time.sleep(0.2)
    return False


def test_a_worker_waits_for_a_database_that_refuses_it_for_a_while(own_database: Database, tmp_path: Path) -> None:
    """A database restarting or failing over refuses connections for some seconds: the worker waits for
    it, then fires what fell due."""
    driver = Driver(own_database, EngineContext.create(clock=MovableClock(datetime.now(UTC) - timedelta(hours=1))))
    driver.deploy(write_folder(tmp_path, "wait", {"w.bpmn": bpmn(process("wait", WAIT))}))
    from engine import instances

    with own_database.unit_of_work() as session:
        instances.start_instance(session, driver.ctx, "wait", {})
    name = make_url(own_database.url).database
    admin = create_engine(make_url(own_database.url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false'))
        connection.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :name"),
                           {"name": name})
    env = {**os.environ, "CITYFLOW_DATABASE_URL": own_database.url, "CITYFLOW_VAR_DIR": str(tmp_path / "var"),
           "CITYFLOW_AUDIT_KEY": "test-audit-key"}
    log = tmp_path / "worker.log"
    with open(log, "wb") as output:
        worker = subprocess.Popen([str(CITYFLOW), "worker"], env=env, stdout=output, stderr=subprocess.STDOUT,
                                  start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while "the database failed this pass" not in log.read_text() and worker.poll() is None \
                and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(2)  # a few more passes fail meanwhile
        with admin.connect() as connection:
            connection.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true'))
        assert _fired_within(own_database, 30), log.read_text()
        assert worker.poll() is None, log.read_text()
        assert "Traceback" not in log.read_text(), log.read_text()
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true'))
        admin.dispose()
        with suppress(ProcessLookupError):
            os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=30)


@pytest.fixture
def smtp_server() -> Any:
    from aiosmtpd.controller import Controller
    from aiosmtpd.handlers import Message

    class Inbox(Message):
        def __init__(self) -> None:
            super().__init__()
            self.received: list[Any] = []

        def handle_message(self, message: Any) -> None:
            self.received.append(message)

    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox, port
    controller.stop()


def test_an_email_notification_reaches_the_smtp_server(
    database: Database, smtp_server: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    inbox, port = smtp_server
    from argon2 import PasswordHasher

    monkeypatch.setattr(identity, "_hasher", PasswordHasher(time_cost=1, memory_cost=64, parallelism=1))
    with database.unit_of_work() as session:
        identity.add_user(session, "kim", "password-1", actor="admin", email="kim@city.example", groups=["도로과"])
        notify_people(session, groups=["도로과"], title="현장민원 배정", body="포트홀 신고가 배정되었습니다.", link="/x")
    settings = Settings(var_dir=tmp_path / "var", audit_key="k", smtp_host="127.0.0.1", smtp_port=port,
                        smtp_from="cityflow@city.example")
    done = Worker(database, EngineContext.create(clock=MovableClock()), settings).drain()
    assert done.mails == 1
    deadline = time.monotonic() + 5
    while not inbox.received and time.monotonic() < deadline:
        time.sleep(0.05)
    (mail,) = inbox.received
    assert mail["To"] == "kim@city.example"
    assert str(make_header(decode_header(mail["Subject"]))) == "현장민원 배정"
    assert "포트홀" in mail.get_payload(decode=True).decode()
    with database.unit_of_work() as session:
        assert session.execute(select(OutgoingMail.sent_at)).scalar_one() is not None


def test_mail_waits_for_a_server_that_is_down(database: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from argon2 import PasswordHasher

    monkeypatch.setattr(identity, "_hasher", PasswordHasher(time_cost=1, memory_cost=64, parallelism=1))
    with database.unit_of_work() as session:
        identity.add_user(session, "lee", "password-1", actor="admin", email="lee@city.example")
        notify_people(session, users=["lee"], title="알림")
    settings = Settings(var_dir=tmp_path / "var", audit_key="k", smtp_host="127.0.0.1", smtp_port=1)
    assert Worker(database, EngineContext.create(clock=MovableClock()), settings).drain().mails == 0
    with database.unit_of_work() as session:
        mail = session.execute(select(OutgoingMail)).scalar_one()
        assert mail.attempts == 1
        assert mail.sent_at is None
        assert mail.last_error
