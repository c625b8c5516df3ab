"""The audit trail: records chained per instance and keyed with secrets kept outside the database,
checkpointed, and anchored outside the database too; verification that names what is wrong; backups.

Records. Each record carries ``prev_hash`` (the ``hash`` of the record before it in its chain,
``GENESIS`` for the first) and its own ``hash``: HMAC-SHA256, under the audit key whose id the
record names (``key_id``), of the JSON array of its fields in ``FIELDS`` order — ``at`` as
``timestamp`` writes it, ``changes`` and ``detail`` as their canonical JSON text (sorted keys, no
spaces, UTF-8), which is also the text stored. Without the key nobody can recompute a link.
Records written before keys existed carry key 0 ("legacy"): their hash is the plain sha256 of the
canonical JSON object of the record. Anybody can recompute those, so checkpoints count them and
sign the count: a legacy record newer than the newest one counted, or a keyed chain that goes on
with a legacy record, is a finding.

Keys (``Keyring``) have ids and rotate: the highest id writes, every other one still verifies
what it wrote (``engine.config.Settings.audit_key_set``). A record or checkpoint whose key is
missing cannot be verified, and verify says so, naming the key.

Chains. An instance row holds the head of its chain (``audit_seq``, ``audit_head``), so deleting
its last records is noticed; records that belong to no instance form the ``system`` chain, whose
head lives in ``audit_chain_heads``.

Checkpoints. The worker (every ``CITYFLOW_AUDIT_CHECKPOINT_SECONDS``, a minute by default, when
anything was written) and ``cityflow audit checkpoint`` write a checkpoint: the heads
``[seq, hash]`` of the chains that moved since the checkpoint before (checkpoints written before
summaries existed hold every head), the number of chains, records and legacy records in all
(``summary``), the hash of the checkpoint before, and an HMAC signature under the current key.
After it is committed it is appended to the anchor log outside the database (``anchor``): one
JSON line per checkpoint, and a short line to syslog when one is configured, so a city can ship
them to write-once storage.

Verification (``verify``) recomputes every link and head, the checkpoint chain from its first
row, every line of the anchor log, and compares them: an anchored checkpoint missing from the
database or different there, an anchored chain shorter than it was or gone, a checkpoint chain
that does not start at the beginning or breaks, records older than the checkpoint interval with
no checkpoint at all — each is a ``Finding`` with a code (listed in ``FINDINGS``) and a sentence
naming the record, chain, checkpoint or line. It also says how recent the newest anchor is and how
many records are not anchored yet: the window in which a deletion could still go unnoticed.

Backups (``backup``, ``restore``): SQLite's online backup, PostgreSQL's ``pg_dump``/``pg_restore``.
The anchor log and the keys are not in a backup, so a restored database that is older than the
anchor log is reported as rolled back, with the records it lost.
"""

from __future__ import annotations

import contextlib
import csv
import fcntl
import hashlib
import hmac
import io
import json
import logging
import logging.handlers
import os
import queue
import shutil
import socket
import sqlite3
import subprocess
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import closing
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

from sqlalchemy import ColumnElement, Engine, Table, Text, bindparam, func, insert, make_url, select, text
from sqlalchemy import cast as sql_cast
from sqlalchemy.exc import DBAPIError, StatementError
from sqlalchemy.orm import Session
from sqlalchemy.types import UserDefinedType

from engine import metrics
from engine.citytime import CityTime
from engine.config import Settings, get_settings
from engine.errors import InvalidInput
from engine.models import AuditCheckpoint, AuditRecord, Base, ChainHead, Instance

SYSTEM_CHAIN = "system"
GENESIS = "0" * 64
LEGACY_KEY = 0

# The fields that are hashed, in the order they are exported and keyed.
FIELDS = (
    "chain",
    "seq",
    "instance_id",
    "at",
    "actor",
    "action",
    "task_id",
    "element_id",
    "element_name",
    "lane",
    "from_state",
    "to_state",
    "changes",
    "detail",
    "process_key",
    "process_version",
    "prev_hash",
)

log = logging.getLogger(__name__)


def timestamp(value: datetime) -> str:
    """UTC with microseconds; naive values (as SQLite returns them) are UTC."""
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.isoformat(timespec="microseconds") + "Z"


_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
# A keyed record's message: the JSON array of its fields, written by the C encoder in one call.
_ARRAY = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, check_circular=False)


def _canonical(values: dict[str, Any]) -> bytes:
    return _ENCODER.encode(values).encode()


def canonical_json(value: Any) -> str | None:
    """The canonical JSON text of a record's ``changes`` or ``detail`` (None stays None)."""
    return None if value is None else _ENCODER.encode(value)


# -- keys --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Keyring:
    """The audit keys by id; the highest id keys what is written now."""

    keys: Mapping[int, bytes]
    _links: dict[int, Callable[[bytes], str]] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        if not self.keys or any(key_id < 1 or not secret for key_id, secret in self.keys.items()):
            raise InvalidInput("audit keys have ids from 1 and secrets that are not empty")

    def link(self, key_id: int) -> Callable[[bytes], str] | None:
        """HMAC-SHA256 under key ``key_id`` as a function of the message (hex), or None without that key."""
        found = self._links.get(key_id)
        if found is None and key_id in self.keys:
            found = self._links[key_id] = _hmac_sha256(self.keys[key_id])
        return found

    @property
    def current(self) -> int:
        return max(self.keys)

    def get(self, key_id: int) -> bytes | None:
        return self.keys.get(key_id)


def _hmac_sha256(key: bytes) -> Callable[[bytes], str]:
    """HMAC-SHA256 (RFC 2104) with the key's inner and outer states computed once: a record's link
    then costs what a plain sha256 costs (``hmac.digest`` sets the key up again for every message)."""
    if len(key) > 64:
        key = hashlib.sha256(key).digest()
    key = key.ljust(64, b"\0")
    inner = hashlib.sha256(bytes(byte ^ 0x36 for byte in key))
    outer = hashlib.sha256(bytes(byte ^ 0x5C for byte in key))

    def link(message: bytes) -> str:
        state = inner.copy()
        state.update(message)
        result = outer.copy()
        result.update(state.digest())
        return result.hexdigest()

    return link


_keyring_cache: list[tuple[Settings, Keyring]] = []


def keyring(settings: Settings | None = None) -> Keyring:
    """The audit keys the settings give (read once per settings object)."""
    settings = settings or get_settings()
    if _keyring_cache and _keyring_cache[0][0] is settings:
        return _keyring_cache[0][1]
    try:
        ring = Keyring(settings.audit_key_set())
    except (ValueError, OSError) as exc:
        raise InvalidInput(f"audit keys: {exc}") from exc
    _keyring_cache[:] = [(settings, ring)]
    return ring


def _keys(keys: Keyring | bytes | None, settings: Settings) -> Keyring:
    """``keys`` given as bytes is one key: the settings' own keys when it is one of them, else key 1."""
    if isinstance(keys, Keyring):
        return keys
    ring = keyring(settings)
    if keys is None or keys in ring.keys.values():
        return ring
    return Keyring({1: keys})


# -- records -----------------------------------------------------------------------------

# The canonical JSON object of a record, written field by field in sorted order: the same text as
# json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False), built faster.
_SORTED_FIELDS = sorted(FIELDS)
_ORDER = [(json.dumps(name) + ":", FIELDS.index(name)) for name in _SORTED_FIELDS]
_string = json.encoder.encode_basestring


def _value_json(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, str):
        return str(_string(value))
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(int(value))
    return _ENCODER.encode(value)


def _record_json(values: Sequence[Any]) -> bytes:
    """Canonical JSON of a record given its values in ``FIELDS`` order (``at`` as a string)."""
    return ("{" + ",".join(key + _value_json(values[at]) for key, at in _ORDER) + "}").encode()


def record_hash(values: Mapping[str, Any]) -> str:
    """The plain sha256 of a record (``at`` as a string): the link of a legacy record (key 0)."""
    return hashlib.sha256(_record_json([values.get(name) for name in FIELDS])).hexdigest()


_CHANGES, _DETAIL = FIELDS.index("changes"), FIELDS.index("detail")


def _keyed_message(values: Sequence[Any]) -> bytes:
    """What a keyed record's HMAC is of: its values in ``FIELDS`` order, ``changes`` and ``detail`` as text."""
    return _ARRAY.encode(values).encode()


def _array_encoder() -> Callable[[Sequence[Any]], str]:
    """``_ARRAY.encode`` without setting the C encoder up again for every call (verify calls it per record)."""
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:
        return _ARRAY.encode
    chunks = make(None, str, json.encoder.encode_basestring, None, ":", ",", False, False, True)
    return lambda values: "".join(chunks(values, 0))


_encode_array = _array_encoder()


def _message_of_fields(row: Sequence[Any]) -> bytes:
    """The keyed message of a record query's row of fields (PostgreSQL's)."""
    return _encode_array(row[7:]).encode()


def record_link(values: Mapping[str, Any], keys: Keyring | None = None) -> str:
    """The hash a record must carry, given its fields as exported (``at`` as a string, ``changes``
    and ``detail`` as values, ``key_id``): keyed with its key, or the plain sha256 for key 0."""
    key_id = int(values.get("key_id") or LEGACY_KEY)
    if key_id == LEGACY_KEY:
        return record_hash(values)
    link = (keys or keyring()).link(key_id)
    if link is None:
        raise InvalidInput(f"audit key {key_id} is not among the keys given")
    message = [values.get(name) for name in FIELDS]
    message[_CHANGES], message[_DETAIL] = canonical_json(message[_CHANGES]), canonical_json(message[_DETAIL])
    return link(_keyed_message(message))


@dataclass
class Entry:
    """A record about to be written; the chain fields are filled in by ``append``."""

    action: str
    actor: str
    task_id: str | None = None
    element_id: str | None = None
    element_name: str | None = None
    lane: str | None = None
    from_state: str | None = None
    to_state: str | None = None
    changes: dict[str, Any] | None = None
    detail: dict[str, Any] | None = None
    at: datetime | None = None


class _JsonText(UserDefinedType[str]):
    """JSON bound as the text given, with no cast and no second encoding: the stored text is the keyed text."""

    cache_ok = True

    def get_col_spec(self, **kw: Any) -> str:
        return "JSON"


_TABLE = cast(Table, AuditRecord.__table__)
_INSERTED = ("chain", *[name for name in FIELDS if name != "chain"], "hash", "key_id")
_INSERT = insert(_TABLE).values({
    name: bindparam(f"p_{name}", type_=_JsonText() if name in ("changes", "detail") else _TABLE.c[name].type)
    for name in _INSERTED
})


@dataclass(frozen=True)
class Appended:
    """Where a record was chained: its place in its chain and its hash."""

    seq: int
    hash: str


def _make_records(
    chain: str,
    instance_id: str | None,
    start_seq: int,
    prev_hash: str,
    entries: Iterable[Entry],
    process_key: str | None,
    process_version: str | None,
) -> tuple[list[Appended], list[dict[str, Any]]]:
    ring = keyring()
    key_id = ring.current
    link = ring.link(key_id)
    assert link is not None
    records, rows = [], []
    seq = start_seq
    for entry in entries:
        seq += 1
        at = entry.at or datetime.now(UTC)
        changes, detail = canonical_json(entry.changes), canonical_json(entry.detail)
        message = [chain, seq, instance_id, timestamp(at), entry.actor, entry.action, entry.task_id,
                   entry.element_id, entry.element_name, entry.lane, entry.from_state, entry.to_state,
                   changes, detail, process_key, process_version, prev_hash]
        digest = link(_keyed_message(message))
        records.append(Appended(seq, digest))
        rows.append({f"p_{name}": value for name, value in zip(FIELDS, message, strict=True)}
                    | {"p_at": at, "p_hash": digest, "p_key_id": key_id})
        prev_hash = digest
    return records, rows


# PostgreSQL: a step's records in one INSERT of one array per column. Its text never changes, so the
# driver parses it once and prepares it (a multi-row VALUES list, new text for every count of records
# and too long for the driver's cache, cost more to send than the records themselves).
_ARRAY_TYPES = {"seq": "integer", "at": "timestamptz", "key_id": "integer", "changes": "text", "detail": "text"}
_SELECTED = ", ".join(f"r.{name}::json" if name in ("changes", "detail") else f"r.{name}" for name in _INSERTED)
_ARRAYS = ", ".join(f"%(p_{name})s::{_ARRAY_TYPES.get(name, 'varchar')}[]" for name in _INSERTED)
_UNNEST_INSERT = (  # names from the table's own definition only: no text from outside goes in
    f"INSERT INTO {_TABLE.name} ({', '.join(_INSERTED)}) SELECT {_SELECTED} "  # noqa: S608
    f"FROM unnest({_ARRAYS}) AS r({', '.join(_INSERTED)})"
)


def _insert(session: Session, rows: list[dict[str, Any]]) -> None:
    """The records in one statement; no RETURNING: records are never read back in the same unit of work.
    ``changes`` and ``detail`` are stored as the canonical text they were hashed as."""
    metrics.transitions_written(session, [row["p_action"] for row in rows])
    connection = session.connection()
    if connection.dialect.name == "postgresql" and len(rows) > 1:
        connection.exec_driver_sql(_UNNEST_INSERT, {f"p_{name}": [row[f"p_{name}"] for row in rows]
                                                    for name in _INSERTED})
    else:  # SQLite, in process: an executemany costs no round trips
        connection.execute(_INSERT, rows)


def append_to_instance(
    session: Session,
    instance: Instance,
    entries: Iterable[Entry],
    process_version: str | None,
) -> list[Appended]:
    """Chain ``entries`` onto the instance's trail and move its head; same transaction as the change."""
    records, rows = _make_records(
        instance.id,
        instance.id,
        instance.audit_seq,
        instance.audit_head or GENESIS,
        entries,
        instance.process_key,
        process_version,
    )
    if records:
        _insert(session, rows)
        instance.audit_seq = records[-1].seq
        instance.audit_head = records[-1].hash
    return records


def append_to_system(session: Session, entry: Entry) -> Appended:
    """Chain one record that belongs to no instance (deployments, users, refused logins)."""
    head = session.execute(
        select(ChainHead).where(ChainHead.chain == SYSTEM_CHAIN).with_for_update()
    ).scalar_one_or_none()
    if head is None:
        head = ChainHead(chain=SYSTEM_CHAIN, seq=0, hash=GENESIS)
        session.add(head)
    (record,), rows = _make_records(SYSTEM_CHAIN, None, head.seq, head.hash, [entry], None, None)
    _insert(session, rows)
    head.seq, head.hash = record.seq, record.hash
    return record


# -- checkpoints ------------------------------------------------------------------------


def _checkpoint_digest(at: str, heads: Mapping[str, Any], prev_hash: str, key_id: int,
                       summary: Mapping[str, Any] | None) -> str:
    if summary is None:  # written before checkpoints had a key id and a summary
        return hashlib.sha256(_canonical({"at": at, "heads": heads, "prev_hash": prev_hash})).hexdigest()
    payload = {"at": at, "heads": heads, "prev_hash": prev_hash, "key_id": key_id, "summary": summary}
    return hashlib.sha256(_canonical(payload)).hexdigest()


def _sign(key: bytes, digest: str) -> str:
    return hmac.new(key, digest.encode(), hashlib.sha256).hexdigest()


def current_heads(session: Session) -> dict[str, list[Any]]:
    """The head ``[seq, hash]`` of every chain, as the instance rows and the chain heads hold them."""
    heads: dict[str, list[Any]] = {
        chain: [seq, digest]
        for chain, seq, digest in session.execute(
            select(Instance.id, Instance.audit_seq, Instance.audit_head).where(Instance.audit_seq > 0)
        )
    }
    for chain, seq, digest in session.execute(select(ChainHead.chain, ChainHead.seq, ChainHead.hash)):
        heads[chain] = [seq, digest]
    return heads


# The heads the checkpoints hold, folded, per database: (newest checkpoint id, its hash, heads).
_signed_cache: dict[str, tuple[int, str, dict[str, list[Any]]]] = {}


def _signed_heads(session: Session, newest: AuditCheckpoint | None) -> dict[str, list[Any]]:
    """Every chain's head as the checkpoints up to ``newest`` hold it (what the next one leaves out)."""
    if newest is None:
        return {}
    where = str(session.get_bind().engine.url)
    cached = _signed_cache.get(where)
    start = 0
    folded: dict[str, list[Any]] = {}
    if cached is not None and cached[0] <= newest.id:
        held = session.execute(select(AuditCheckpoint.hash).where(AuditCheckpoint.id == cached[0])).scalar()
        if held == cached[1]:
            start, folded = cached[0], dict(cached[2])
    query = select(AuditCheckpoint.heads).where(AuditCheckpoint.id > start, AuditCheckpoint.id <= newest.id)
    for (heads,) in session.execute(query.order_by(AuditCheckpoint.id).execution_options(yield_per=500)):
        for chain, head in heads.items():
            if chain not in folded or head[0] >= folded[chain][0]:
                folded[chain] = head
    _signed_cache[where] = (newest.id, newest.hash, folded)
    return folded


def _legacy_now(session: Session) -> dict[str, Any]:
    count, last_id = session.execute(
        select(func.count(), func.max(AuditRecord.id)).where(AuditRecord.key_id == LEGACY_KEY)
    ).one()
    return {"records": int(count), "last_id": last_id}


def _legacy_summary(session: Session, last: AuditCheckpoint | None, ring: Keyring) -> dict[str, Any]:
    """The legacy records as the checkpoint before counted them (no more are ever written), or counted now."""
    if last is not None and last.summary is not None:
        key = ring.get(last.key_id)
        digest = _checkpoint_digest(timestamp(last.at), last.heads, last.prev_hash, last.key_id, last.summary)
        if key is not None and digest == last.hash and hmac.compare_digest(_sign(key, digest), last.signature):
            return dict(last.summary["legacy"])
    return _legacy_now(session)


def write_checkpoint(
    session: Session,
    keys: Keyring | bytes | None = None,
    unless_within: timedelta | None = None,
    now: datetime | None = None,
    *,
    only_if_moved: bool = False,
) -> AuditCheckpoint | None:
    """Sign the heads of the chains that moved since the last checkpoint into the checkpoint chain.
    Nothing when the last checkpoint is younger than ``unless_within``, or (``only_if_moved``) when no
    chain moved. Checkpoint writers take turns. Append it to the anchor log after the commit (``anchor``)."""
    ring = _keys(keys, get_settings())
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("LOCK TABLE audit_checkpoints IN SHARE ROW EXCLUSIVE MODE"))
    last = session.execute(
        select(AuditCheckpoint).order_by(AuditCheckpoint.id.desc()).limit(1)
    ).scalar_one_or_none()
    if last is not None and unless_within is not None and last.at > (now or datetime.now(UTC)) - unless_within:
        return None
    heads = current_heads(session)
    signed = _signed_heads(session, last)
    moved = {chain: head for chain, head in heads.items() if signed.get(chain) != head}
    if only_if_moved and not moved and (last is not None or not heads):
        return None
    prev_hash = last.hash if last else GENESIS
    at = datetime.now(UTC)
    summary = {"chains": len(heads), "records": sum(int(head[0]) for head in heads.values()),
               "legacy": _legacy_summary(session, last, ring)}
    key_id = ring.current
    digest = _checkpoint_digest(timestamp(at), moved, prev_hash, key_id, summary)
    checkpoint = AuditCheckpoint(at=at, heads=moved, prev_hash=prev_hash, hash=digest,
                                 signature=_sign(ring.keys[key_id], digest), key_id=key_id, summary=summary)
    session.add(checkpoint)
    session.flush()
    return checkpoint


@dataclass(frozen=True)
class ChainCheckpoint:
    """How far the newest checkpoint holding a chain covers it."""

    checkpoint_id: int
    at: datetime
    seq: int  # the chain's records 1..seq are signed in it


def _holds(session: Session, chain: str) -> Any:
    if session.get_bind().dialect.name == "postgresql":
        return AuditCheckpoint.heads.op("->")(chain).is_not(None)
    return func.json_type(AuditCheckpoint.heads, "$." + json.dumps(chain)).is_not(None)


def chain_checkpoint(session: Session, chain: str) -> ChainCheckpoint | None:
    """The newest checkpoint that holds ``chain`` (a checkpoint holds the chains that moved since
    the one before), or None when none does yet."""
    found = session.execute(
        select(AuditCheckpoint.id, AuditCheckpoint.at, AuditCheckpoint.heads)
        .where(_holds(session, chain)).order_by(AuditCheckpoint.id.desc()).limit(1)
    ).first()
    if found is None:
        return None
    return ChainCheckpoint(found.id, found.at, int(found.heads[chain][0]))


# -- the anchor log ---------------------------------------------------------------------


def anchor_line(checkpoint: AuditCheckpoint) -> dict[str, Any]:
    """A checkpoint as the anchor log holds it: everything its hash and signature cover."""
    line = {"checkpoint": checkpoint.id, "at": timestamp(checkpoint.at), "heads": checkpoint.heads,
            "prev_hash": checkpoint.prev_hash, "hash": checkpoint.hash, "key_id": checkpoint.key_id,
            "signature": checkpoint.signature}
    if checkpoint.summary is not None:
        line["summary"] = checkpoint.summary
    return line


def _short(line: Mapping[str, Any]) -> dict[str, Any]:
    """What goes to syslog: the signed hash and its place in the chain, not the heads (a line stays short)."""
    short = {name: line[name] for name in ("checkpoint", "at", "prev_hash", "hash", "key_id", "signature")}
    if "summary" in line:
        short["chains"], short["records"] = line["summary"]["chains"], line["summary"]["records"]
    return short


def _last_line(handle: Any) -> str | None:
    """The last line of an open file, read from its end."""
    handle.seek(0, os.SEEK_END)
    end = position = handle.tell()
    tail = b""
    while position > 0:
        step = min(65536, position)
        position -= step
        handle.seek(position)
        tail = handle.read(step) + tail
        if tail.rstrip(b"\n").count(b"\n") >= 1:
            break
    handle.seek(end)
    lines = tail.rstrip(b"\n").split(b"\n")
    return lines[-1].decode("utf-8", "replace") if lines and lines[-1] else None


_syslog_handlers: dict[str, logging.Handler] = {}


def _syslog(address: str) -> logging.Handler:
    """A syslog handler for ``1`` (this machine's syslog), a socket path, or ``host:port`` (UDP)."""
    if address not in _syslog_handlers:
        where: str | tuple[str, int]
        if address.lower() in ("1", "true", "yes", "on"):
            where = "/dev/log" if Path("/dev/log").exists() else ("localhost", logging.handlers.SYSLOG_UDP_PORT)
        elif address.startswith("/"):
            where = address
        else:
            host, _, port = address.rpartition(":")
            where = (host or "localhost", int(port))
        handler = logging.handlers.SysLogHandler(where, facility=logging.handlers.SysLogHandler.LOG_AUTHPRIV,
                                                 socktype=socket.SOCK_DGRAM)
        handler.ident = "cityflow-audit-anchor: "
        _syslog_handlers[address] = handler
    return _syslog_handlers[address]


def anchor(session: Session, settings: Settings | None = None) -> int:
    """Append to the anchor log every checkpoint of the database it does not hold yet, after the last
    one it holds (and each to syslog when configured). Call it after the checkpoint is committed;
    writers take turns on a lock of the file. Returns how many lines were appended."""
    settings = settings or get_settings()
    path = settings.audit_anchor_log
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        query = select(AuditCheckpoint).order_by(AuditCheckpoint.id)
        last_text = _last_line(handle)
        if last_text is not None:
            try:
                last = json.loads(last_text)
                held = session.get(AuditCheckpoint, int(last["checkpoint"]))
                if held is not None and held.hash == last["hash"]:
                    query = query.where(AuditCheckpoint.id > held.id)
                else:  # the database went back to an earlier checkpoint: go on after the log's last moment
                    query = query.where(AuditCheckpoint.at > datetime.fromisoformat(last["at"]))
            except (ValueError, KeyError, TypeError):
                log.error("the last line of the audit anchor log %s is not a checkpoint; appending only "
                          "the newest checkpoint", path)
                query = query.order_by(None).order_by(AuditCheckpoint.id.desc()).limit(1)
        lines = [anchor_line(checkpoint) for checkpoint in session.execute(query).scalars()]
        if not lines:
            return 0
        handle.seek(0, os.SEEK_END)
        if handle.tell():
            handle.seek(-1, os.SEEK_END)
            if handle.read(1) != b"\n":
                handle.write(b"\n")  # a line cut off half-way stays alone on its line
        handle.write("".join(_ENCODER.encode(line) + "\n" for line in lines).encode())
        handle.flush()
        os.fsync(handle.fileno())
    if settings.audit_anchor_syslog:
        handler = _syslog(settings.audit_anchor_syslog)
        for line in lines:
            handler.emit(logging.LogRecord("cityflow.audit.anchor", logging.INFO, __file__, 0,
                                           _ENCODER.encode(_short(line)), None, None))
    return len(lines)


# -- verification -----------------------------------------------------------------------

# Every finding's code, with what it means (the README lists them for operators).
FINDINGS = {
    "record-altered": "a record's content does not match its hash: it was changed",
    "record-unlinked": "a record does not link to the record before it: a record was replaced or reordered",
    "record-missing": "a chain skips a record: it was deleted",
    "record-unkeyed": "a record carries no key where only keyed records can be: it was rewritten without the key",
    "key-missing": "records or checkpoints were written under an audit key this server does not have",
    "chain-head": "a chain's records end before or after the head its instance row holds: its tail was cut",
    "chain-headless": "records of a chain whose instance row is gone",
    "chain-shorter": "a chain ends before the record a checkpoint anchored: records after it were deleted",
    "chain-differs": "a record differs from what a checkpoint anchored",
    "chain-gone": "a chain that a checkpoint anchored is gone with its records",
    "legacy-count": "more or fewer unkeyed records than the checkpoints counted",
    "checkpoint-altered": "a checkpoint row does not match its hash",
    "checkpoint-signature": "a checkpoint's signature does not verify with its audit key",
    "checkpoint-unlinked": "the checkpoint chain does not start at the beginning, or breaks: checkpoints were deleted",
    "checkpoint-missing": "checkpoints in the anchor log are not in the database: deleted, or the database was "
                          "restored from an older backup",
    "checkpoint-differs": "a checkpoint in the database differs from the one in the anchor log",
    "checkpoint-unanchored": "checkpoints in the database are not in the anchor log: it was cut or not written",
    "rolled-back": "the database is older than its anchor log: records written after its newest checkpoint are gone",
    "anchor-log-missing": "the anchor log is missing although the database has checkpoints",
    "anchor-altered": "a line of the anchor log does not match its signature: it was edited",
    "anchor-unlinked": "a line of the anchor log does not follow the line before: lines were removed, or the "
                       "database went back to an earlier checkpoint",
    "never-checkpointed": "no checkpoint at all, and records older than two checkpoint intervals (and a half "
                          "minute) before the newest record of their chain, and before now",
}
MAX_FINDINGS = 200
# How long after a checkpoint is committed its line may still be on its way to the anchor log.
ANCHOR_GRACE = timedelta(seconds=30)


@dataclass(frozen=True)
class Finding:
    code: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}


@dataclass
class Verification:
    """What ``verify`` found. ``ok`` when there is no finding; ``first_broken`` is the first one's sentence."""

    records: int
    findings: list[Finding] = field(default_factory=list)
    more_findings: int = 0  # left out of ``findings`` beyond MAX_FINDINGS
    keys: dict[int, int] = field(default_factory=dict)  # records per audit key id (0: legacy, unkeyed)
    instance_id: str | None = None
    checkpoints: int = 0
    anchor_log: str = ""
    anchors: int = 0
    newest_anchor: dict[str, Any] | None = None  # {"checkpoint", "at", "age_seconds"}
    unanchored_records: int = 0
    chain_anchor: dict[str, Any] | None = None  # one instance's: {"checkpoint", "at", "seq"}
    notes: list[str] = field(default_factory=list)  # worth knowing, not wrong

    @property
    def ok(self) -> bool:
        return not self.findings

    @property
    def first_broken(self) -> str | None:
        return self.findings[0].message if self.findings else None

    @property
    def legacy_records(self) -> int:
        return self.keys.get(LEGACY_KEY, 0)

    def add(self, code: str, message: str) -> None:
        assert code in FINDINGS, code
        if len(self.findings) < MAX_FINDINGS:
            self.findings.append(Finding(code, message))
        else:
            self.more_findings += 1

    def as_dict(self) -> dict[str, Any]:
        """The report, as ``/api/audit/verify`` and ``cityflow audit verify --json`` give it."""
        return {
            "ok": self.ok, "records": self.records, "first_broken": self.first_broken,
            "findings": [finding.as_dict() for finding in self.findings], "more_findings": self.more_findings,
            "instance": self.instance_id, "legacy_records": self.legacy_records,
            "keys": {str(key_id): count for key_id, count in sorted(self.keys.items())},
            "checkpoints": self.checkpoints, "anchor_log": self.anchor_log, "anchors": self.anchors,
            "newest_anchor": self.newest_anchor, "unanchored_records": self.unanchored_records,
            "chain_anchor": self.chain_anchor, "notes": self.notes,
        }

    def lines(self) -> list[str]:
        """The report as sentences, findings first; the last line counts the records verified."""
        out = [f"broken: {finding.message} [{finding.code}]" for finding in self.findings]
        if self.more_findings:
            out.append(f"broken: … and {self.more_findings:,} more findings")
        legacy = self.keys.get(LEGACY_KEY, 0)
        keyed = ", ".join(f"key {key_id}: {count:,}" for key_id, count in sorted(self.keys.items()) if key_id)
        out.append(f"records by audit key: {keyed or 'none keyed'}; legacy (unkeyed, written before keys): "
                   f"{legacy:,}")
        out.append(f"checkpoints in the database: {self.checkpoints:,}; lines in the anchor log "
                   f"{self.anchor_log}: {self.anchors:,}")
        if self.newest_anchor is not None:
            out.append(f"newest anchor: checkpoint #{self.newest_anchor['checkpoint']} at "
                       f"{self.newest_anchor['city_time']} ({_age(self.newest_anchor['age_seconds'])} ago); "
                       f"{self.unanchored_records:,} records written since are not anchored yet")
        else:
            out.append(f"no anchor yet; {self.unanchored_records:,} records are not anchored")
        if self.chain_anchor is not None:
            out.append(f"this case is anchored up to record #{self.chain_anchor['seq']} by checkpoint "
                       f"#{self.chain_anchor['checkpoint']} at {self.chain_anchor['at']}")
        out += [f"note: {note}" for note in self.notes]
        out.append(f"verified {self.records} records")
        return out


def _age(seconds: float) -> str:
    if seconds < 600:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def _chain_name(chain: str) -> str:
    return "system chain" if chain == SYSTEM_CHAIN else f"instance {chain}"


def _describe(chain: str, seq: int, row_id: int | None = None) -> str:
    return f"{_chain_name(chain)} record #{seq}" + (f" (row {row_id})" if row_id is not None else "")


def _span(first: int, last: int) -> str:
    return f"#{first}" if first == last else f"#{first}–#{last}"


@dataclass
class _Point:
    """A chain's head as a checkpoint signed it."""

    seq: int
    hash: str
    checkpoint: int
    at: str  # city time, for sentences


@dataclass
class _Signed:
    """A checkpoint read from the database or a line of the anchor log, with what checking it found."""

    id: int
    at: datetime
    prev_hash: str
    hash: str
    key_id: int
    signature: str
    heads: dict[str, Any] | None  # None: a short line (syslog's), which holds no heads
    summary: dict[str, Any] | None
    line: int = 0  # in the anchor log
    valid: bool = False


def _check_signed(item: _Signed, ring: Keyring, missing_keys: Counter[tuple[int, str]]) -> str | None:
    """Why a checkpoint (or anchor line) does not hold, or None; sets ``valid``."""
    if item.heads is not None:
        digest = _checkpoint_digest(timestamp(item.at), item.heads, item.prev_hash, item.key_id, item.summary)
        if digest != item.hash:
            return "altered"
    key = ring.get(item.key_id)
    if key is None:
        missing_keys[item.key_id, "anchor line" if item.line else "checkpoint"] += 1
        return None
    if not hmac.compare_digest(_sign(key, item.hash), item.signature):
        return "signature"
    item.valid = True
    return None


def _breaks(item: _Signed, previous: _Signed | None) -> bool:
    """Whether a checkpoint does not follow the one before it (the first: does not begin the chain)."""
    return item.prev_hash != (previous.hash if previous is not None else GENESIS)


def _db_checkpoints(session: Session, instance_id: str | None) -> list[_Signed]:
    query = select(AuditCheckpoint).order_by(AuditCheckpoint.id).execution_options(yield_per=500)
    if instance_id is not None:
        query = query.where(_holds(session, instance_id))
    return [_Signed(c.id, c.at, c.prev_hash, c.hash, c.key_id, c.signature, c.heads, c.summary)
            for c in session.execute(query).scalars()]


def _read_anchor_log(path: Path, instance_id: str | None) -> tuple[bool, list[_Signed | int]]:
    """Whether the log exists, and its lines: each a checkpoint, or the line's number when it is not one."""
    if not path.exists():
        return False, []
    lines: list[_Signed | int] = []
    with open(path, encoding="utf-8", errors="replace") as handle:
        for number, content in enumerate(handle, 1):
            if not content.strip():
                continue
            if instance_id is not None and instance_id not in content:
                continue
            try:
                data = json.loads(content)
                lines.append(_Signed(
                    int(data["checkpoint"]), datetime.fromisoformat(data["at"]), str(data["prev_hash"]),
                    str(data["hash"]), int(data.get("key_id", 1)), str(data["signature"]),
                    data.get("heads"), data.get("summary"), line=number))
            except (ValueError, KeyError, TypeError, AttributeError):
                lines.append(number)
    return True, lines


class _Verifier:
    """One verification: the checkpoints and anchors first (what was signed), then every record."""

    def __init__(self, session: Session, ring: Keyring, instance_id: str | None, settings: Settings,
                 now: datetime) -> None:
        self.session, self.ring, self.instance_id, self.settings, self.now = session, ring, instance_id, settings, now
        self.city = CityTime.from_settings(settings)
        self.result = Verification(records=0, instance_id=instance_id, anchor_log=str(settings.audit_anchor_log))
        self.missing_keys: Counter[tuple[int, str]] = Counter()  # (key id, what): how many
        self.signed: dict[str, _Point] = {}  # chain -> the furthest head a valid checkpoint or anchor signed
        self.legacy: dict[str, Any] | None = None  # the newest valid summary's legacy count
        self.newest_at: datetime | None = None
        self.old_unsigned: tuple[str, int] | None = None  # (chain, seq) of a record no checkpoint holds, and old

    def when(self, moment: datetime) -> str:
        return self.city.local(moment).strftime("%Y-%m-%d %H:%M:%S %Z")

    # -- what was signed
    def fold(self, item: _Signed) -> None:
        if item.heads is None:
            return
        for chain, (seq, digest) in item.heads.items():
            point = self.signed.get(chain)
            if point is None or int(seq) > point.seq:
                self.signed[chain] = _Point(int(seq), str(digest), item.id, self.when(item.at))
        if item.summary is not None and self.instance_id is None:
            self.legacy = item.summary.get("legacy")

    def checkpoints(self) -> list[_Signed]:
        rows = _db_checkpoints(self.session, self.instance_id)
        self.result.checkpoints = len(rows)
        previous: _Signed | None = None
        for item in rows:
            problem = _check_signed(item, self.ring, self.missing_keys)
            if problem == "altered":
                self.result.add("checkpoint-altered", f"checkpoint #{item.id} ({self.when(item.at)}) does not match "
                                                      "its hash: it was changed in the database")
            elif problem == "signature":
                self.result.add("checkpoint-signature", f"checkpoint #{item.id}: signature does not verify with "
                                                        f"audit key {item.key_id}: forged, or signed with another key")
            if self.instance_id is None and _breaks(item, previous):
                self.result.add("checkpoint-unlinked", (
                    f"checkpoint #{item.id}, the first in the database, follows a checkpoint that is not there: the "
                    "checkpoints before it were deleted") if previous is None else (
                    f"checkpoint #{item.id} does not follow checkpoint #{previous.id}: a checkpoint between them was "
                    "deleted or changed"))
            previous = item
        return rows

    def anchors(self, in_database: list[_Signed]) -> None:
        path = self.settings.audit_anchor_log
        exists, lines = _read_anchor_log(path, self.instance_id)
        anchored = [line for line in lines if isinstance(line, _Signed)]
        self.result.anchors = len(lines)
        if not exists and self.instance_id is None:
            settled = [c for c in in_database if c.at <= self.now - ANCHOR_GRACE]
            if any(c.summary is not None for c in settled):
                self.result.add("anchor-log-missing", f"the anchor log {path} is missing, and the database has "
                                                      f"{_checkpoints(in_database)} (the newest at "
                                                      f"{self.when(settled[-1].at)})")
            elif settled:  # all written before checkpoints were anchored: the worker's next pass anchors them
                self.result.notes.append(f"the anchor log {path} is not there yet: the database's checkpoints were "
                                         "written before cityflow anchored them, and the worker's next pass "
                                         "appends them")
        previous: _Signed | None = None
        for line in lines:
            if isinstance(line, int):
                self.result.add("anchor-altered", f"anchor log line {line} is not a checkpoint: it was edited or "
                                                  "damaged")
                continue
            problem = _check_signed(line, self.ring, self.missing_keys)
            if problem is not None:
                self.result.add("anchor-altered", f"anchor log line {line.line} (checkpoint #{line.id}) does not "
                                                  "match its signature: the line was edited")
                continue
            if self.instance_id is None and _breaks(line, previous):
                self.result.add("anchor-unlinked", (
                    f"anchor log line {line.line} (checkpoint #{line.id}) follows a checkpoint the log does not hold: "
                    "lines before it were removed") if previous is None else (
                    f"anchor log line {line.line}: checkpoint #{line.id} does not follow checkpoint #{previous.id} "
                    "on the line before: lines between were removed, or the database went back to an earlier "
                    "checkpoint and went on from there"))
            previous = line
        self.compare(in_database, [line for line in anchored if line.valid])
        for line in anchored:
            if line.valid:
                self.fold(line)
            if self.newest_at is None or line.at > self.newest_at:
                self.newest_at = line.at
                self.result.newest_anchor = {"checkpoint": line.id, "at": timestamp(line.at),
                                             "city_time": self.when(line.at),
                                             "age_seconds": round((self.now - line.at).total_seconds(), 1)}

    def compare(self, in_database: list[_Signed], anchored: list[_Signed]) -> None:
        """Every anchored checkpoint must be in the database as it was; every settled one in the database
        must be in the anchor log."""
        by_id = {item.id: item for item in in_database}
        missing = [line for line in anchored if line.id not in by_id]
        for line in anchored:
            held = by_id.get(line.id)
            if held is not None and held.hash != line.hash:
                self.result.add("checkpoint-differs", f"checkpoint #{line.id} in the database differs from the one "
                                                      f"anchor log line {line.line} holds ({self.when(line.at)})")
        if missing and self.instance_id is None:
            newest_held = max((item for item in in_database if item.valid), key=lambda item: item.id, default=None)
            gone = [line for line in missing if newest_held is None or line.id > newest_held.id]
            between = [line for line in missing if line not in gone]
            if between:
                self.result.add("checkpoint-missing", f"{_checkpoints(between)} of the anchor log "
                                                      f"{_are(between)} not in the database: deleted")
            if gone:
                since = (f"its newest checkpoint is #{newest_held.id} ({self.when(newest_held.at)})"
                         if newest_held else "it holds no checkpoint")
                self.result.add("rolled-back", f"the database is older than its anchor log: {since}, the anchor "
                                               f"log goes on to checkpoint #{gone[-1].id} ({self.when(gone[-1].at)}); "
                                               "it was restored from an older backup, rolled back, or its newest "
                                               "checkpoints were deleted: records written after its newest "
                                               "checkpoint are missing (named below)")
                self.result.add("checkpoint-missing", f"{_checkpoints(gone)} of the anchor log {_are(gone)} not in "
                                                      "the database")
        anchored_ids = {line.id for line in anchored}
        newest_line = max(anchored_ids, default=0)
        unanchored = [item for item in in_database if item.id not in anchored_ids and item.id > newest_line
                      and item.at <= self.now - ANCHOR_GRACE]
        if unanchored and anchored and self.instance_id is None:
            self.result.add("checkpoint-unanchored", f"{_checkpoints(unanchored)} (the newest at "
                                                     f"{self.when(unanchored[-1].at)}) {_are(unanchored)} not in the "
                                                     "anchor log: it was cut, or could not be written (see the "
                                                     "worker's log)")

    # -- the records
    def _record_query(self) -> tuple[Any, bool]:
        """The records in chain order as (chain, seq, prev_hash, hash, key_id, id, at, message…). On SQLite
        the message a keyed record's link is of, written by its ``json_array`` as ``_keyed_message`` writes
        it (the same escapes; where it is written otherwise the record is read again, ``recheck``); on
        PostgreSQL the fields it is made of, which this process writes as the message faster than the
        server would. Returns the query and whether it gives the message whole."""
        at_text: ColumnElement[str]
        columns: list[Any] = [getattr(AuditRecord, name) for name in FIELDS]
        columns[_CHANGES] = sql_cast(AuditRecord.changes, Text)
        columns[_DETAIL] = sql_cast(AuditRecord.detail, Text)
        whole = self.session.get_bind().dialect.name == "sqlite"
        if whole:
            at_text = func.replace(sql_cast(AuditRecord.at, Text), " ", "T") + "Z"
        else:
            at_text = func.to_char(func.timezone("UTC", AuditRecord.at), 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
        columns[FIELDS.index("at")] = at_text
        message = [func.json_array(*columns)] if whole else columns
        query = select(AuditRecord.chain, AuditRecord.seq, AuditRecord.prev_hash, AuditRecord.hash,
                       AuditRecord.key_id, AuditRecord.id, at_text, *message)
        if self.instance_id is not None:
            query = query.where(AuditRecord.chain == self.instance_id)
        return query.order_by(AuditRecord.chain, AuditRecord.seq), whole

    def records(self) -> dict[str, tuple[int, str]]:
        """Every record, chain by chain: links, keys, signed points. Returns what each chain ends with."""
        result, signed = self.result, self.signed
        query, whole = self._record_query()
        message_of: Callable[[Sequence[Any]], bytes] = (lambda row: row[7].encode()) if whole else _message_of_fields
        wall_stale = timestamp(self.now - self.interval())
        # No unkeyed record is newer than the newest one the checkpoints counted, nor than the first keyed one.
        limits = [self.legacy.get("last_id") or 0] if self.legacy is not None else []
        first_keyed = self.session.execute(
            select(func.min(AuditRecord.id)).where(AuditRecord.key_id != LEGACY_KEY)).scalar()
        if first_keyed is not None:
            limits.append(first_keyed)
        legacy_limit = min(limits) if limits else None
        counted = select(AuditRecord.key_id, func.count()).group_by(AuditRecord.key_id)
        if self.instance_id is not None:
            counted = counted.where(AuditRecord.chain == self.instance_id)
        keys = {int(key_id): int(count) for key_id, count in self.session.execute(counted)}
        link_of = self.ring.link
        ends: dict[str, tuple[int, str]] = {}
        chain, expected, prev_hash, broken, keyed, point, point_seq = "", 0, GENESIS, False, False, None, 0
        unsigned: tuple[str, int] | None = None  # the chain's first record no checkpoint holds: (at, seq)
        last_at = ""
        unanchored = 0
        late_legacy: list[tuple[str, int]] = []
        records = 0
        for batch in self._batches(query):
            records += len(batch)
            for row in batch:
                if row[0] != chain:
                    if chain:
                        ends[chain] = (expected, prev_hash)
                        self.chain_end(chain, expected, point, unsigned, last_at, wall_stale)
                    chain, expected, prev_hash, broken, keyed = row[0], 0, GENESIS, False, False
                    point = signed.get(chain)
                    point_seq = point.seq if point is not None else 0
                    unsigned = None
                expected += 1
                seq, stored, key_id, last_at = row[1], row[3], row[4], row[6]
                if seq > point_seq:
                    unanchored += 1
                    if unsigned is None:
                        unsigned = (last_at, seq)
                if broken:
                    expected, prev_hash = seq, stored
                    continue
                if key_id and seq == expected and row[2] == prev_hash:
                    # the common case: a keyed record in its place
                    keyed = True
                    link = link_of(key_id)
                    if link is not None and link(message_of(row)) != stored and not self.recheck(row[5], stored):
                        result.add("record-altered", f"{_describe(chain, seq, row[5])}: content does not match its "
                                                     f"hash under audit key {key_id}: it was changed")
                        broken = True
                elif seq != expected:
                    result.add("record-missing", f"{_describe(chain, expected)} is missing (the chain jumps to "
                                                 f"#{seq})")
                    broken = True
                elif row[2] != prev_hash:
                    result.add("record-unlinked", f"{_describe(chain, seq, row[5])}: prev_hash does not match "
                                                  f"record #{seq - 1}")
                    broken = True
                elif keyed:
                    result.add("record-unkeyed", f"{_describe(chain, seq, row[5])} carries no audit key after "
                                                 "keyed records: it was rewritten without the key")
                    broken = True
                elif legacy_limit is not None and row[5] > legacy_limit:
                    late_legacy.append((chain, seq))
                elif self.legacy_link(json.loads(row[7]) if whole else list(row[7:])) != stored \
                        and not self.recheck(row[5], stored):
                    result.add("record-altered", f"{_describe(chain, seq, row[5])}: content does not match its "
                                                 "hash (a legacy record, unkeyed): it was changed")
                    broken = True
                if seq == point_seq and stored != point.hash and not broken:  # type: ignore[union-attr]
                    result.add("chain-differs", f"{_describe(chain, seq, row[5])} differs from what checkpoint "
                                                f"#{point.checkpoint} ({point.at}) signed")  # type: ignore[union-attr]
                    broken = True
                expected, prev_hash = seq, stored
        if chain:
            ends[chain] = (expected, prev_hash)
            self.chain_end(chain, expected, point, unsigned, last_at, wall_stale)
        result.records = records
        result.keys = keys
        result.unanchored_records = unanchored
        for key_id, count in sorted(keys.items()):
            if key_id and self.ring.get(key_id) is None:
                self.missing_keys[key_id, "record"] += count
        self.late_legacy(late_legacy, keys.get(LEGACY_KEY, 0))
        if self.old_unsigned and not self.signed and not self.result.checkpoints and not self.result.anchors:
            first_chain, first_seq = self.old_unsigned
            result.add("never-checkpointed", f"there is no checkpoint at all, and records written more than "
                                             f"{_age(self.interval().total_seconds())} before the newest one of "
                                             f"their chain are in none (the worker checkpoints every "
                                             f"{self.settings.audit_checkpoint_seconds} s; the first: "
                                             f"{_describe(first_chain, first_seq)}): checkpoints were deleted, or "
                                             "the worker never ran")
        return ends

    def interval(self) -> timedelta:
        # Twice the worker's interval and a little: a record may be written just after a checkpoint.
        return timedelta(seconds=2 * self.settings.audit_checkpoint_seconds) + ANCHOR_GRACE

    def _batches(self, query: Any, size: int = 5000) -> Iterator[Sequence[Sequence[Any]]]:
        """The rows of ``query`` in batches, read with the driver's own cursor: plain tuples, which is a good
        part of verifying fast. On PostgreSQL a server-side cursor, read ahead by a thread while this one
        hashes (the driver waits for the server without the GIL; its connection serializes queries)."""
        connection = self.session.connection()
        statement = str(query.compile(dialect=connection.dialect, compile_kwargs={"literal_binds": True}))
        driver = connection.connection.dbapi_connection
        assert driver is not None
        if connection.dialect.name != "postgresql":
            cursor = driver.cursor()
            try:
                cursor.execute(statement)
                while batch := cursor.fetchmany(size):
                    yield batch
            finally:
                cursor.close()
            return
        cursor = driver.cursor(name="cityflow_audit_verify")
        ahead: queue.Queue[Sequence[Sequence[Any]] | BaseException | None] = queue.Queue(maxsize=2)
        stop = threading.Event()

        def read_ahead() -> None:
            try:
                cursor.execute(statement)
                while not stop.is_set() and (batch := cursor.fetchmany(size)):
                    ahead.put(batch)
                ahead.put(None)
            except BaseException as exc:  # handed to the reading thread, raised there
                ahead.put(exc)

        reader = threading.Thread(target=read_ahead, name="cityflow-audit-verify", daemon=True)
        reader.start()
        try:
            while (item := ahead.get()) is not None:
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            stop.set()
            while reader.is_alive():  # let a reader blocked on a full queue finish
                with contextlib.suppress(queue.Empty):
                    ahead.get(timeout=0.1)
            cursor.close()

    def legacy_link(self, values: list[Any]) -> str:
        """The plain sha256 of a legacy record, from its fields as the record query gives them."""
        try:
            for at in (_CHANGES, _DETAIL):
                if values[at] is not None:
                    values[at] = json.loads(values[at])
        except ValueError:
            return ""  # not JSON cityflow wrote
        return hashlib.sha256(_record_json(values)).hexdigest()

    def recheck(self, row_id: int, stored: str) -> bool:
        """The record read as the models read it (for text stored in another but equal form)."""
        try:
            record = self.session.get(AuditRecord, row_id)
            if record is None:
                return False
            values = {name: getattr(record, name) for name in (*FIELDS, "key_id")}
            values["at"] = timestamp(record.at)
            return record_link(values, self.ring) == stored
        except (InvalidInput, ValueError, TypeError, StatementError):
            return False  # a value cityflow never writes (an unreadable time, broken JSON): not what was keyed

    def chain_end(self, chain: str, last_seq: int, point: _Point | None, unsigned: tuple[str, int] | None,
                  last_at: str, wall_stale: str) -> None:
        # A record no checkpoint holds is old when it is older than the interval both by the wall clock and
        # before the chain's own newest record: a chain judged by its own clock, so one written on a clock
        # that is not the wall's (a test's, an import's) is not old merely for that.
        if unsigned is not None and self.old_unsigned is None and unsigned[0] < wall_stale:
            try:
                newest = datetime.fromisoformat(last_at.replace("Z", "+00:00"))
            except (ValueError, AttributeError):
                return  # not a time cityflow wrote: the record's link says so
            if unsigned[0] < timestamp(newest - self.interval()):
                self.old_unsigned = (chain, unsigned[1])
        if point is not None and last_seq < point.seq:
            self.result.add("chain-shorter", f"{_chain_name(chain)}: records {_span(last_seq + 1, point.seq)} are "
                                             f"missing (checkpoint #{point.checkpoint} at {point.at} signed up to "
                                             f"#{point.seq})")

    def late_legacy(self, late: list[tuple[str, int]], legacy_now: int) -> None:
        if self.instance_id is not None or self.legacy is None:
            if late:
                chain, seq = late[0]
                self.result.add("record-unkeyed", f"{_describe(chain, seq)} carries no audit key but is newer than "
                                                  "the unkeyed records the checkpoints counted: it was written or "
                                                  "rewritten without the key")
            return
        counted = int(self.legacy.get("records", 0))
        if late:
            chains = sorted({chain for chain, _ in late})
            chain, seq = late[0]
            self.result.add("record-unkeyed", f"{len(late):,} records of {len(chains):,} "
                                              f"chain{'s' if len(chains) > 1 else ''} carry no audit key but "
                                              f"are newer than the unkeyed records the checkpoints counted (the first: "
                                              f"{_describe(chain, seq)}): written or rewritten without the key")
        elif legacy_now != counted:
            self.result.add("legacy-count", f"the database has {legacy_now:,} unkeyed (legacy) records, the "
                                            f"checkpoints counted {counted:,}")

    def heads(self, ends: dict[str, tuple[int, str]]) -> None:
        heads = {chain: (int(seq), str(digest)) for chain, (seq, digest) in current_heads(self.session).items()}
        if self.instance_id is not None:
            heads = {c: h for c, h in heads.items() if c == self.instance_id}
        for chain, (seq, digest) in sorted(heads.items()):
            last_seq, last_hash = ends.get(chain, (0, GENESIS))
            if last_seq < seq:
                missing = (f"{_describe(chain, seq)} is missing" if last_seq + 1 == seq else
                           f"{_chain_name(chain)}: records {_span(last_seq + 1, seq)} are missing")
                self.result.add("chain-head", f"{missing} (the chain head names #{seq})")
            elif last_seq > seq or last_hash != digest:
                self.result.add("chain-head", f"{_describe(chain, last_seq)} does not match the chain head "
                                              f"(#{seq}): the chain's tail was cut or its head rewritten")
        for chain in sorted(set(ends) - set(heads)):
            self.result.add("chain-headless", f"{_describe(chain, 1)}: records of a chain with no head (its instance "
                                              "row is gone)")
        for chain, point in sorted(self.signed.items()):
            if self.instance_id is not None and chain != self.instance_id:
                continue
            if chain not in ends:
                row = "its instance row too" if chain not in heads else "its instance row is still there"
                self.result.add("chain-gone", f"{_chain_name(chain)} is gone: records {_span(1, point.seq)}, signed "
                                              f"by checkpoint #{point.checkpoint} at {point.at}, are missing "
                                              f"({row})")

    def keys_report(self) -> None:
        for key_id in sorted({key_id for key_id, _ in self.missing_keys}):
            what = ", ".join(f"{count:,} {kind}{'s' if count > 1 else ''}" for kind in ("record", "checkpoint",
                             "anchor line") if (count := self.missing_keys[key_id, kind]))
            self.result.add("key-missing", f"audit key {key_id} is missing: what it keyed ({what}) cannot be "
                                           f"verified; give it in CITYFLOW_AUDIT_KEYS or var/audit-{key_id}.key")

    def run(self) -> Verification:
        in_database = self.checkpoints()
        self.anchors(in_database)
        for item in in_database:
            if item.valid:
                self.fold(item)
        ends = self.records()
        self.heads(ends)
        self.keys_report()
        if self.instance_id is not None:
            point = self.signed.get(self.instance_id)
            if point is not None:
                self.result.chain_anchor = {"checkpoint": point.checkpoint, "at": point.at, "seq": point.seq}
        if self.result.legacy_records:
            self.result.notes.append(f"{self.result.legacy_records:,} records were written before audit keys "
                                     "(plain sha256): only checkpoints protect them")
        newest = self.result.newest_anchor
        if newest is not None and self.result.unanchored_records and \
                newest["age_seconds"] > self.interval().total_seconds():
            self.result.notes.append(f"the newest anchor is {_age(newest['age_seconds'])} old: is the worker "
                                     "running? Until the next checkpoint, deleting the records written since "
                                     "would go unnoticed")
        return self.result


def _are(items: Sequence[Any]) -> str:
    return "is" if len(items) == 1 else "are"


def _checkpoints(items: Sequence[_Signed]) -> str:
    """``checkpoint #4`` or ``checkpoints #1–#3, #5``."""
    ids = sorted({item.id for item in items})
    runs: list[str] = []
    start = previous = ids[0]
    for current in [*ids[1:], None]:
        if current is not None and current == previous + 1:
            previous = current
            continue
        runs.append(_span(start, previous))
        if current is not None:
            start = previous = current
    return ("checkpoint " if len(ids) == 1 else "checkpoints ") + ", ".join(runs)


def verify(
    session: Session,
    keys: Keyring | bytes | None = None,
    instance_id: str | None = None,
    *,
    settings: Settings | None = None,
    now: datetime | None = None,
) -> Verification:
    """Recompute every chain (or one instance's), its head, the checkpoints and the anchor log, and
    compare them; every finding names what is wrong. ``keys`` defaults to the settings' (bytes:
    one key, key 1, unless the settings have it); the anchor log is the settings'."""
    settings = settings or get_settings()
    verifier = _Verifier(session, _keys(keys, settings), instance_id, settings, now or datetime.now(UTC))
    return verifier.run()


# -- export -----------------------------------------------------------------------------

EXPORT_FIELDS = ("id", *FIELDS, "key_id", "hash")


def records(session: Session, instance_id: str | None = None) -> Iterator[dict[str, Any]]:
    """Audit records as plain dicts, chain by chain, in order."""
    query = select(AuditRecord).order_by(AuditRecord.chain, AuditRecord.seq)
    if instance_id is not None:
        query = query.where(AuditRecord.chain == instance_id)
    for record in session.execute(query.execution_options(yield_per=2000)).scalars():
        values = {name: getattr(record, name) for name in EXPORT_FIELDS}
        values["at"] = timestamp(record.at)
        yield values


def export(rows: Iterable[dict[str, Any]], fmt: str) -> Iterator[str]:
    """Render records as JSON lines or CSV (nested values as JSON), one string per line."""
    if fmt == "jsonl":
        for row in rows:
            yield json.dumps(row, ensure_ascii=False, default=str, sort_keys=False) + "\n"
        return
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(EXPORT_FIELDS)
    for row in rows:
        writer.writerow(
            [json.dumps(v, ensure_ascii=False) if isinstance(v, dict | list) else v for v in row.values()]
        )
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    if buffer.getvalue():
        yield buffer.getvalue()


def find_records(
    session: Session,
    *,
    actor: str | None = None,
    process_key: str | None = None,
    action: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    after_id: int | None = None,
    limit: int = 100,
) -> list[dict[str, Any]]:
    """Audit records matching every given filter, oldest first, after row ``after_id``."""
    query = select(AuditRecord).order_by(AuditRecord.id).limit(limit)
    if actor:
        query = query.where(AuditRecord.actor == actor)
    if process_key:
        query = query.where(AuditRecord.process_key == process_key)
    if action:
        query = query.where(AuditRecord.action == action)
    if since:
        query = query.where(AuditRecord.at >= since)
    if until:
        query = query.where(AuditRecord.at < until)
    if after_id:
        query = query.where(AuditRecord.id > after_id)
    rows = []
    for record in session.execute(query).scalars():
        values = {name: getattr(record, name) for name in EXPORT_FIELDS}
        values["at"] = timestamp(record.at)
        rows.append(values)
    return rows


def element_marks(session: Session, instance_id: str) -> dict[str, str]:
    """Where an instance stands, per BPMN element: completed, active (waiting for someone or something),
    or error — read from its trail, which keeps what the compacted live state no longer holds."""
    last: dict[str, tuple[str, str]] = {}
    completed: set[str] = set()
    query = (
        select(AuditRecord.task_id, AuditRecord.element_id, AuditRecord.to_state)
        .where(AuditRecord.chain == instance_id, AuditRecord.element_id.is_not(None))
        .order_by(AuditRecord.seq)
    )
    for task_id, element_id, to_state in session.execute(query):
        if to_state is None or element_id is None:
            continue
        last[task_id or element_id] = (element_id, to_state)
        if to_state == "COMPLETED":
            completed.add(element_id)
    marks = dict.fromkeys(completed, "completed")
    for element_id, state in last.values():
        if state in ("READY", "WAITING"):
            marks[element_id] = "active"
        elif state == "ERROR":
            marks[element_id] = "error"
    return marks


# -- backups ----------------------------------------------------------------------------


class BackupFailed(InvalidInput):
    """A backup or restore could not be made; the detail says why."""


@dataclass(frozen=True)
class Backup:
    path: Path
    bytes: int
    records: int
    newest_checkpoint: int | None


def _pg_environment(url: str) -> tuple[dict[str, str], str]:
    """libpq's environment for a SQLAlchemy URL (the password never on a command line), and the database."""
    parsed = make_url(url)
    env = dict(os.environ)
    for name, value in (("PGHOST", parsed.host), ("PGPORT", parsed.port), ("PGUSER", parsed.username),
                        ("PGPASSWORD", parsed.password)):
        if value is not None:
            env[name] = str(value)
    return env, parsed.database or ""


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupFailed(f"{name} is not installed (on Debian: apt-get install postgresql-client-15, the "
                           "server's major version); PostgreSQL is backed up and restored with pg_dump and pg_restore")
    return found


def _counts(engine: Engine) -> tuple[int, int | None]:
    with engine.connect() as connection:
        records = connection.execute(select(func.count()).select_from(AuditRecord)).scalar_one()
        newest = connection.execute(select(func.max(AuditCheckpoint.id))).scalar()
    return int(records), newest


def backup(engine: Engine, path: Path) -> Backup:
    """Copy the database to ``path`` while it is in use: SQLite's online backup, or ``pg_dump`` in its
    custom format. The anchor log and the audit keys are not in it (they are kept apart on purpose)."""
    if path.exists():
        raise BackupFailed(f"{path} exists already; a backup never overwrites a file")
    path.parent.mkdir(parents=True, exist_ok=True)
    url = engine.url
    if url.get_backend_name() == "sqlite":
        with closing(sqlite3.connect(url.database or "")) as source, closing(sqlite3.connect(path)) as target:
            source.backup(target)
    elif url.get_backend_name() == "postgresql":
        env, database = _pg_environment(url.render_as_string(hide_password=False))
        command = [_tool("pg_dump"), "--format=custom", "--no-owner", "--file", str(path), database]
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)  # noqa: S603
        if done.returncode != 0:
            path.unlink(missing_ok=True)
            raise BackupFailed(f"pg_dump failed: {done.stderr.strip()}")
    else:
        raise BackupFailed(f"cannot back up a {url.get_backend_name()} database")
    records, newest = _counts(engine)
    return Backup(path, path.stat().st_size, records, newest)


def is_empty(engine: Engine) -> bool:
    """Whether the database holds no row of cityflow's (a schema without rows is empty)."""
    with engine.connect() as connection:
        for table in Base.metadata.sorted_tables:
            try:
                if connection.execute(select(text("1")).select_from(table).limit(1)).first() is not None:
                    return False
            except DBAPIError:  # a table not created yet holds no row
                connection.rollback()
    return True


def restore(engine: Engine, path: Path, force: bool = False) -> None:
    """Put the database back as the backup at ``path`` holds it. A database with rows is kept unless
    ``force``. Stop the server and the worker first. ``verify`` then compares it with the anchor log."""
    if not path.is_file():
        raise BackupFailed(f"{path} is not a file")
    with path.open("rb") as handle:
        head = handle.read(16)
    url = engine.url
    if not force and not is_empty(engine):
        raise BackupFailed(f"the database {url.render_as_string(hide_password=True)} is not empty; give --force to "
                           "replace everything in it with the backup")
    if url.get_backend_name() == "sqlite":
        if not head.startswith(b"SQLite format 3\0"):
            raise BackupFailed(f"{path} is not a SQLite database (a cityflow backup of SQLite is one)")
        engine.dispose()
        with closing(sqlite3.connect(path)) as source, closing(sqlite3.connect(url.database or "")) as target:
            source.backup(target)
    elif url.get_backend_name() == "postgresql":
        if not head.startswith(b"PGDMP"):
            raise BackupFailed(f"{path} is not a pg_dump archive in custom format (a cityflow backup of "
                               "PostgreSQL is one)")
        engine.dispose()
        env, database = _pg_environment(url.render_as_string(hide_password=False))
        command = [_tool("pg_restore"), "--clean", "--if-exists", "--no-owner", "--single-transaction",
                   "--exit-on-error", "--dbname", database, str(path)]
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)  # noqa: S603
        if done.returncode != 0:
            raise BackupFailed(f"pg_restore failed (the database is as it was): {done.stderr.strip()}")
    else:
        raise BackupFailed(f"cannot restore a {url.get_backend_name()} database")
