"""The ``cityflow`` command: set up, deploy, run and audit from a shell (see API.md for the contract)."""

from __future__ import annotations

import getpass
import json
import secrets
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from pydantic import ValidationError
from sqlalchemy.orm import Session

from api import logs
from api.form_check import check_form
from api.operations import worker_app
from engine import access, audit, commands, definitions, identity, metrics, open311, process, worker, worklist
from engine.attachments import BlobStore
from engine.citytime import CityTime
from engine.config import Settings, get_settings
from engine.context import EngineContext
from engine.db import Database
from engine.demo import DEMO_PASSWORD, seed_instances, seed_organisation
from engine.demo import PEOPLE as DEMO_PEOPLE
from engine.errors import CityflowError, DefinitionError, InvalidInput
from engine.identity import Principal
from engine.migrate import upgrade
from engine.models import ERROR, OpenTask

app = typer.Typer(no_args_is_help=True, add_completion=False, help="cityflow: BPMN work management for city hall.")
audit_app = typer.Typer(no_args_is_help=True, help="Verify, export and checkpoint the audit trail.")
app.add_typer(audit_app, name="audit")
user_app = typer.Typer(no_args_is_help=True, help="People who use cityflow.")
app.add_typer(user_app, name="user")
token_app = typer.Typer(no_args_is_help=True, help="API bearer tokens.")
app.add_typer(token_app, name="token")

AsUser = Annotated[str | None, typer.Option("--as", help="act as this user, under their rules (recorded as the actor)")]
Override = Annotated[bool, typer.Option(
    "--override", help="an admin acts on a task not offered to them; recorded as an override")]


def _fail(error: CityflowError) -> NoReturn:
    typer.echo(f"{error.name}: {error.detail}", err=True)
    raise typer.Exit(1)


def _json_option(text: str | None, name: str) -> dict[str, Any]:
    if text is None:
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        _fail(InvalidInput(f"{name} is not JSON: {exc}"))
    if not isinstance(value, dict):
        _fail(InvalidInput(f"{name} must be a JSON object"))
    return value


def _actor(user: str | None) -> str:
    return user or f"cli:{getpass.getuser()}"


def _person(session: Session, user: str | None) -> Principal:
    """Who a command acts as: a named user, under the same rules as on the web and the API."""
    if not user:
        raise InvalidInput("name who you act as: --as USER (the same rules apply as on the web)")
    return identity.principal(session, identity.get_user(session, user), _context().clock())


def _operator() -> Principal:
    """Whoever runs the command on the server itself, reading as an auditor does."""
    return Principal(username=_actor(None), display_name=_actor(None), roles=frozenset({"auditor"}),
                     groups=frozenset())


@contextmanager
def _unit_of_work() -> Iterator[Session]:
    """The command's one transaction: committed when the command succeeds."""
    database = Database(get_settings().database_url)
    try:
        with database.unit_of_work() as session:
            yield session
    except CityflowError as error:
        _fail(error)
    finally:
        database.dispose()


def _context() -> EngineContext:
    settings = get_settings()
    return EngineContext.create(settings.script_time_limit, form_check=check_form,
                                max_data_bytes=settings.max_data_bytes)


@app.command()
def init(
    demo: Annotated[bool, typer.Option(help="also deploy the workflows folder and seed the demo city hall")] = False,
) -> None:
    """Migrate the database to the newest schema."""
    settings = get_settings()
    database = Database(settings.database_url)
    upgrade(database.engine)
    database.dispose()
    typer.echo(f"database ready: {database.engine.url.render_as_string(hide_password=True)}")
    if demo:
        deploy([])
        with _unit_of_work() as session:
            created = seed_organisation(session)
        ctx = _context()
        database = Database(settings.database_url)
        runner = worker.Worker(database, ctx, settings)
        try:
            with database.unit_of_work() as session:
                started = seed_instances(session, ctx, BlobStore(settings.attachments_dir), lambda: None)
            runner.drain()
        finally:
            database.dispose()
        history = (f"{started} cases of the last months seeded" if started
                   else "it has cases already, so no history was added")
        typer.echo(f"demo city hall: {len(DEMO_PEOPLE)} people ({len(created)} new); {history}; "
                   f"every password is '{DEMO_PASSWORD}'")
        for person in DEMO_PEOPLE:
            typer.echo(f"  {person.username:<20} {person.name} ({person.position}, {', '.join(person.roles)})")


@app.command()
def validate(paths: Annotated[list[Path], typer.Argument(help="BPMN/DMN/form files or process folders")]) -> None:
    """Check definitions; one line per problem, ``file:line: CODE: message``."""
    problems = 0
    for path in paths:
        try:
            sources = [definitions.read_source(path)]
        except DefinitionError as error:
            for problem in error.problems:
                typer.echo(str(problem))
            problems += len(error.problems)
            continue
        for source in sources:
            for problem in definitions.check(source).problems:
                typer.echo(str(problem))
                problems += 1
    if problems:
        raise typer.Exit(1)


@app.command()
def deploy(
    paths: Annotated[
        list[Path] | None, typer.Argument(help="process folders (default: every folder of the workflows dir)")
    ] = None,
    as_user: AsUser = None,
) -> None:
    """Validate, then deploy; prints ``process version hash`` per process."""
    targets = paths or definitions.process_folders(get_settings().workflows_dir)
    if not targets:
        _fail(InvalidInput(f"nothing to deploy: no process folder in {get_settings().workflows_dir}"))
    try:
        checked = [definitions.check(definitions.read_source(path)) for path in targets]
    except DefinitionError as error:
        checked = [definitions.Checked(definitions.DefinitionSource("", {}), problems=error.problems)]
    invalid = [problem for result in checked for problem in result.problems]
    if invalid:
        for problem in invalid:
            typer.echo(str(problem), err=True)
        raise typer.Exit(1)
    with _unit_of_work() as session:
        if as_user:
            access.require_designer(_person(session, as_user))
        deployed = [definitions.deploy(session, result, _actor(as_user)) for result in checked]
    for d in deployed:
        typer.echo(f"{d.key} {d.version} {d.hash}")


@app.command()
def start(
    process: str,
    data: Annotated[str | None, typer.Option(help="initial data, a JSON object")] = None,
    business_key: Annotated[str | None, typer.Option("--business-key")] = None,
    as_user: AsUser = None,
) -> None:
    """Start an instance of PROCESS (its folder's name, or the id of its BPMN process); prints its id."""
    payload = _json_option(data, "--data")
    with _unit_of_work() as session:
        instance = commands.start(session, _context(), _person(session, as_user), process, payload, business_key)
        instance_id, status = instance.id, instance.status
    typer.echo(instance_id)
    _stopped_with_error(instance_id, status)


# The exit code of a command whose instance stopped with an error: it ran, and the case needs attention.
STOPPED_WITH_ERROR = 3


def _stopped_with_error(instance_id: str, status: str) -> None:
    if status == ERROR:
        typer.echo(
            f"instance {instance_id} stopped with an error; see `cityflow audit export --instance {instance_id}`",
            err=True,
        )
        raise typer.Exit(STOPPED_WITH_ERROR)


@app.command()
def tasks(
    instance: Annotated[str | None, typer.Option("--instance")] = None,
    as_user: AsUser = None,
) -> None:
    """Ready user tasks, one JSON object a line: those USER may act on (as in their inbox), or all."""
    with _unit_of_work() as session:
        person = _person(session, as_user) if as_user else _operator()
        rows: list[OpenTask] = []
        cursor: str | None = None
        while True:
            page, cursor = worklist.find_tasks(session, person, "all", limit=worklist.MAX_PAGE, cursor=cursor,
                                               instance_id=instance)
            rows += page
            if cursor is None:
                break
        lines = [
            {
                "id": row.id,
                "instance_id": row.instance_id,
                "element_id": row.element_id,
                "name": row.name,
                "lane": row.lane,
                "assignee": row.assignee,
                "candidates": {"users": row.candidate_users, "groups": row.candidate_groups},
            }
            for row in rows
        ]
    for line in lines:
        typer.echo(json.dumps(line, ensure_ascii=False))


@app.command()
def complete(
    task_id: str,
    data: Annotated[str | None, typer.Option(help="the task's result, a JSON object")] = None,
    as_user: AsUser = None,
    override: Override = False,
) -> None:
    """Complete a ready task offered to USER, with its form's data."""
    payload = _json_option(data, "--data")
    with _unit_of_work() as session:
        instance = commands.complete(session, _context(), _person(session, as_user), task_id, payload,
                                     override=override)
        status, instance_id = instance.status, instance.id
    typer.echo(f"{instance_id} {status}")
    _stopped_with_error(instance_id, status)


@app.command()
def claim(task_id: str, as_user: AsUser = None, override: Override = False) -> None:
    """Take a task offered to USER, so others see it is theirs."""
    with _unit_of_work() as session:
        task = commands.claim(session, _context(), _person(session, as_user), task_id, override=override)
        line = f"{task.id} claimed by {task.claimed_by}"
    typer.echo(line)


@app.command()
def unclaim(task_id: str, as_user: AsUser = None) -> None:
    """Give a claimed task back to everyone it was offered to."""
    with _unit_of_work() as session:
        task = commands.unclaim(session, _context(), _person(session, as_user), task_id)
        line = f"{task.id} released"
    typer.echo(line)


@app.command()
def delegate(task_id: str, to: Annotated[str, typer.Option("--to", help="the colleague who takes it over")],
             as_user: AsUser = None) -> None:
    """Hand a task to a colleague."""
    with _unit_of_work() as session:
        task = commands.delegate(session, _context(), _person(session, as_user), task_id, to)
        line = f"{task.id} delegated to {task.assignee}"
    typer.echo(line)


@app.command("edit-data")
def edit_data(
    instance_id: str,
    data: Annotated[str, typer.Option(help="the corrected values, a JSON object")],
    as_user: AsUser = None,
) -> None:
    """Correct a running or failed instance's data (admins); recorded with old and new values."""
    changes = _json_option(data, "--data")
    with _unit_of_work() as session:
        instance = commands.edit_data(session, _context(), _person(session, as_user), instance_id, changes)
        status = instance.status
    typer.echo(f"{instance_id} {status}")


@app.command()
def cancel(
    instance_id: str,
    reason: Annotated[str, typer.Option(help="why, for the record")] = "",
    as_user: AsUser = None,
) -> None:
    """Cancel a running instance."""
    with _unit_of_work() as session:
        instance = commands.cancel(session, _context(), _person(session, as_user), instance_id, reason)
        status = instance.status
    typer.echo(f"{instance_id} {status}")


@app.command()
def retry(instance_id: str, as_user: AsUser = None) -> None:
    """Run an instance that stopped with an error again, after the cause was fixed."""
    with _unit_of_work() as session:
        instance = commands.retry(session, _context(), _person(session, as_user), instance_id)
        status = instance.status
    typer.echo(f"{instance_id} {status}")
    if status == ERROR:
        raise typer.Exit(1)


# The exit code of `cityflow migrate` when some cases stay on their version (each named, with why).
SOME_KEPT = 4


@app.command()
def migrate(
    process: str,
    from_version: Annotated[int, typer.Option("--from", help="the version the running cases are at")],
    to_version: Annotated[int, typer.Option("--to", help="the version to move them to")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="say what would happen, change nothing")] = False,
    as_user: AsUser = None,
) -> None:
    """Move the running cases of PROCESS from one version to another (designers and admins): each
    whose current tasks are unchanged there moves, the others stay with the reason. One line per case;
    exits 4 when any stays."""
    with _unit_of_work() as session:
        person = _person(session, as_user) if as_user else _shell_designer()
        result = commands.migrate_instances(session, _context(), person, process, from_version, to_version,
                                            dry_run=dry_run)
    moved, kept = ("would move", "would keep") if dry_run else ("moved", "kept")
    for move in result.moves:
        named = f"{move.instance_id}" + (f" ({move.business_key})" if move.business_key else "")
        if move.moved:
            typer.echo(f"{moved} {named} at {', '.join(move.at) or 'its start'}")
        else:
            typer.echo(f"{kept} {named}: {'; '.join(move.reasons)}")
    typer.echo(f"{process} {from_version} → {to_version}: {len(result.moved)} {moved}, {len(result.kept)} {kept}"
               + (" (dry run: nothing changed)" if dry_run else ""))
    if result.kept:
        raise typer.Exit(SOME_KEPT)


def _shell_designer() -> Principal:
    """Whoever runs a designer's command at the server's shell without --as (as `deploy` does)."""
    return Principal(username=_actor(None), display_name=_actor(None), roles=frozenset({"designer"}),
                     groups=frozenset())


@app.command()
def message(
    name: str,
    correlation: Annotated[str, typer.Option("--correlation", help="JSON object: keys the instance must match")],
    payload: Annotated[str | None, typer.Option("--payload", help="JSON object added to the instance's data")] = None,
    as_user: AsUser = None,
) -> None:
    """Deliver a message; exit 1 when nothing waits for it."""
    keys = _json_option(correlation, "--correlation")
    data = _json_option(payload, "--payload")
    with _unit_of_work() as session:
        delivery = commands.send_message(session, _context(), _person(session, as_user), name, keys, data)
    for instance_id in delivery.delivered:
        typer.echo(f"delivered {instance_id}")
    for instance_id in delivery.started:
        typer.echo(f"started {instance_id}")


@app.command("worker")
def run_worker(
    once: Annotated[bool, typer.Option("--once", help="do what is due now, then exit")] = False,
    metrics_port: Annotated[int | None, typer.Option(
        "--metrics-port", min=1, max=65535,
        help="answer /healthz, /readyz and /metrics on this port (a worker on a host of its own)")] = None,
    metrics_host: Annotated[str, typer.Option(
        "--metrics-host", help="the address --metrics-port listens on (this host's own, for a scraper elsewhere)",
    )] = "127.0.0.1",
) -> None:
    """Fire due timers, call service handlers, start scheduled processes, send mail, checkpoint."""
    settings = get_settings()
    if once and metrics_port is not None:
        _fail(InvalidInput("--metrics-port is for a worker that runs on; --once exits when it is done"))
    if not once:
        _operated(settings)
    database = Database(settings.database_url)
    context = _context()
    runner = worker.Worker(database, context, settings)
    try:
        with worker.single_worker(settings, database.dialect):
            if once:
                done = runner.drain()
                typer.echo(f"fired {done.timers} timers, started {done.starts} processes, ran {done.jobs} jobs "
                           f"({done.retries} to retry, {done.incidents} incidents), sent {done.mails} mails")
            else:
                if metrics_port is not None:
                    watched = worker_app(settings, database, context.clock, runner)
                    _answer_for_worker(watched, metrics_host, metrics_port)
                process.settle()
                runner.run_forever()
    finally:
        database.dispose()


def _answer_for_worker(app: Any, host: str, port: int) -> None:
    """Serve the worker's own address from a thread beside its loop; refuse to go on without it."""
    import threading

    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_config=None, access_log=False,
                                           lifespan="off"))
    thread = threading.Thread(target=server.run, name="worker-metrics", daemon=True)
    thread.start()
    while not server.started:
        if not thread.is_alive():
            _fail(InvalidInput(f"cannot answer on {host}:{port} (is the port taken?)"))
        thread.join(0.05)


@app.command()
def serve(
    host: str = "127.0.0.1",
    port: int = 8000,
    workers: Annotated[int | None, typer.Option(help="server processes (default: one per two cores)")] = None,
    with_worker: Annotated[bool, typer.Option("--with-worker", help="also run the worker in this process")] = False,
    log_config: Annotated[Path | None, typer.Option(
        "--log-config", exists=True, dir_okay=False,
        help="a logging file (dictConfig .json/.yaml, fileConfig .ini); else CITYFLOW_LOG_CONFIG")] = None,
) -> None:
    """Serve the web pages and the JSON API."""
    import importlib.util
    import os
    import threading

    import uvicorn

    log_file = _operated(get_settings(), log_config)
    if with_worker:
        threading.Thread(target=run_worker, kwargs={"once": False}, daemon=True, name="cityflow-worker").start()

    # uvloop sets TCP_NODELAY on every socket it accepts; asyncio's loop does not when uvicorn runs
    # several processes (their shared socket is made without IPPROTO_TCP), and each answer then
    # waits about 40 ms for the client's delayed ACK.
    loop = "uvloop" if importlib.util.find_spec("uvloop") else "asyncio"
    parser = "httptools" if importlib.util.find_spec("httptools") else "h11"
    # One server process per two cores: a process's Python runs on one core at a time and waits on the
    # database for much of a request; the other core is the database's, the worker's and the script
    # processes'. Each server process takes about 150 MB more (README: "Serving a city").
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    processes = workers or max(1, cores // 2)
    uvicorn.run("api.app:served_app", factory=True, host=host, port=port, workers=processes,
                loop=loop, http=parser, log_config=str(log_file))


def _operated(settings: Settings, log_config: Path | None = None) -> Path:
    """A serving or working process: its counters in files the others of this machine share (var/metrics),
    its logging from the operator's file. Returns that file."""
    metrics.share_between_processes(settings.var_dir / "metrics")
    path = logs.config_file(log_config, settings.log_config)
    logs.configure(path)
    return path


@user_app.command("add")
def user_add(
    username: str,
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="read the password from standard input")],
    role: Annotated[list[str] | None, typer.Option("--role", help="staff, designer, auditor, admin or service")] = None,
    group: Annotated[list[str] | None, typer.Option("--group")] = None,
    name: Annotated[str | None, typer.Option("--name", help="display name")] = None,
    department: Annotated[str | None, typer.Option("--department", help="department code")] = None,
    as_user: AsUser = None,
) -> None:
    """Create a user; the password comes from standard input, never from the command line."""
    if not password_stdin:
        _fail(InvalidInput("pass --password-stdin and the password on standard input"))
    password = sys.stdin.readline().rstrip("\r\n")
    with _unit_of_work() as session:
        identity.add_user(
            session, username, password, actor=_actor(as_user), display_name=name,
            roles=role or ["staff"], groups=group or [], department=department,
        )
    typer.echo(f"user {username} added")


@user_app.command("absence")
def user_absence(
    username: str,
    deputy: Annotated[str, typer.Option("--deputy", help="who acts for them meanwhile (대결자)")],
    since: Annotated[datetime, typer.Option("--from", help="start, e.g. 2026-12-01T09:00+09:00")],
    until: Annotated[datetime, typer.Option("--until", help="end")],
    kind: Annotated[str, typer.Option("--kind", help="출장, 휴가, 교육 or 병가")] = "휴가",
    as_user: AsUser = None,
) -> None:
    """Record an absence: meanwhile the deputy may act on the absent colleague's tasks."""
    with _unit_of_work() as session:
        city = CityTime.from_settings()  # a time written without an offset is the city's
        identity.add_absence(session, username, deputy, kind, city.utc(since), city.utc(until), actor=_actor(as_user))
    typer.echo(f"{username} absent ({kind}) {since:%Y-%m-%d %H:%M} – {until:%Y-%m-%d %H:%M}; deputy {deputy}")


@token_app.command("create")
def token_create(username: str) -> None:
    """Print a new API bearer token for the user (shown once; stored only as a hash)."""
    with _unit_of_work() as session:
        token, _ = identity.create_token(session, username, kind="api")
    typer.echo(token)


@app.command("open311-key")
def open311_key(
    client: Annotated[str, typer.Argument(help="the Open311 client, e.g. suwon-app (its account: open311-CLIENT)")],
    revoke: Annotated[bool, typer.Option("--revoke", help="revoke every key of the client instead")] = False,
    as_user: AsUser = None,
) -> None:
    """Print a new Open311 api_key for a client (shown once; stored only as a hash), or revoke its keys."""
    with _unit_of_work() as session:
        if revoke:
            count = open311.revoke_keys(session, client, _context().clock())
            typer.echo(f"{count} key(s) of {open311.account_of(client)} revoked")
            return
        key = open311.issue_key(session, client, actor=_actor(as_user))
    typer.echo(key)


@audit_app.command("verify")
def audit_verify(
    instance: Annotated[str | None, typer.Option("--instance", help="only this instance's chain")] = None,
    anchors: Annotated[Path | None, typer.Option(
        "--anchors", help="compare with this copy of the anchor log (e.g. the one on write-once storage)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="the report as JSON, as /api/audit/verify gives it")] = False,
) -> None:
    """Recompute every chain, its head, the checkpoints and the anchor log; name everything wrong.
    Exits 1 on any finding."""
    settings = get_settings()
    if anchors is not None:
        settings = settings.model_copy(update={"audit_anchors": anchors})
    with _unit_of_work() as session:
        result = audit.verify(session, audit.keyring(settings), instance, settings=settings)
    if as_json:
        typer.echo(json.dumps(result.as_dict(), ensure_ascii=False, indent=2))
    else:
        for line in result.lines():
            typer.echo(line)
    if not result.ok:
        raise typer.Exit(1)


@audit_app.command("export")
def audit_export(
    instance: Annotated[str | None, typer.Option("--instance")] = None,
    format: Annotated[str, typer.Option("--format", help="jsonl or csv")] = "jsonl",
) -> None:
    """Audit records to standard output."""
    if format not in ("jsonl", "csv"):
        _fail(InvalidInput("--format must be jsonl or csv"))
    with _unit_of_work() as session:
        for chunk in audit.export(audit.records(session, instance), format):
            sys.stdout.write(chunk)


@audit_app.command("checkpoint")
def audit_checkpoint() -> None:
    """Sign the heads of the chains that moved into the checkpoint chain, then append it to the anchor log."""
    with _unit_of_work() as session:
        checkpoint = audit.write_checkpoint(session)
        assert checkpoint is not None
        summary = checkpoint.summary or {}
        line = (f"checkpoint {checkpoint.id} {checkpoint.hash} ({len(checkpoint.heads)} chains moved, "
                f"{summary.get('chains', 0)} chains and {summary.get('records', 0)} records in all)")
    with _unit_of_work() as session:
        appended = audit.anchor(session)
    typer.echo(f"{line}; {appended} appended to the anchor log {get_settings().audit_anchor_log}")


@audit_app.command("new-key")
def audit_new_key() -> None:
    """Make the next audit key, var/audit-<id>.key: restarted servers and workers key new records with it;
    the older keys stay, to verify what they keyed."""
    settings = get_settings()
    ring = audit.keyring(settings)
    next_id = ring.current + 1
    if settings.audit_keys or settings.audit_key:
        typer.echo(f"the audit keys come from the environment: add key {next_id} to CITYFLOW_AUDIT_KEYS "
                   f"(e.g. {next_id}:{secrets.token_hex(32)}), keeping the others", err=True)
        raise typer.Exit(1)
    path = settings.var_dir / f"audit-{next_id}.key"
    path.write_text(secrets.token_hex(32))
    path.chmod(0o600)
    typer.echo(f"audit key {next_id} written to {path}; restart the server and the worker to key with it. "
               "Keep every older key: records and checkpoints keyed with it verify only with it.")


@app.command()
def backup(path: Annotated[Path, typer.Argument(help="a new file; a backup never overwrites one")]) -> None:
    """Back the database up while it runs: SQLite's online backup, or pg_dump (custom format) for PostgreSQL.
    The audit keys and the anchor log are not in it: keep them apart."""
    database = Database(get_settings().database_url)
    try:
        made = audit.backup(database.engine, path)
    except CityflowError as error:
        _fail(error)
    finally:
        database.dispose()
    newest = f"checkpoint #{made.newest_checkpoint}" if made.newest_checkpoint else "no checkpoint"
    typer.echo(f"backup {made.path}: {made.bytes:,} bytes, {made.records:,} audit records, newest {newest}")


@app.command()
def restore(
    path: Annotated[Path, typer.Argument(help="a file `cityflow backup` made")],
    force: Annotated[bool, typer.Option("--force", help="replace a database that has rows")] = False,
) -> None:
    """Put the database back as a backup holds it (stop the server and the worker first), bring its
    schema up to date, then verify it against the anchor log: records written after the backup are named."""
    settings = get_settings()
    database = Database(settings.database_url)
    try:
        audit.restore(database.engine, path, force)
        upgrade(database.engine)
        with database.unit_of_work() as session:
            result = audit.verify(session, audit.keyring(settings), settings=settings)
    except CityflowError as error:
        _fail(error)
    finally:
        database.dispose()
    typer.echo(f"restored {database.engine.url.render_as_string(hide_password=True)} from {path}")
    if not result.ok:
        typer.echo("the restored database does not verify against the anchor log:")
    for line in result.lines():
        typer.echo(line)


def main() -> None:
    try:
        get_settings()
    except ValidationError as exc:  # a wrong setting is named, never a traceback
        for problem in exc.errors():
            name = f"CITYFLOW_{str(problem['loc'][0]).upper()}" if problem["loc"] else "settings"
            message = str(problem["msg"]).removeprefix("Value error, ")
            typer.echo(f"InvalidSetting: {message if message.startswith(name) else f'{name}: {message}'}", err=True)
        raise SystemExit(2) from None
    app()
