"""The audit trail: append-only records in per-instance hash chains, with signed checkpoints.

Each record's ``hash`` is the sha256 of the canonical JSON of the record (every
field but ``hash`` itself, ``prev_hash`` included). An instance row holds the
head of its chain (``audit_seq``, ``audit_head``), so deleting its last record is
noticed; records that belong to no instance form the ``system`` chain, whose
head lives in ``audit_chain_heads``. A checkpoint hashes every chain head into a
chain of its own and signs it with an HMAC key kept outside the database, so a
whole instance deleted together with its records is noticed too.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, insert, select, text
from sqlalchemy.orm import Session

from engine.models import AuditCheckpoint, AuditRecord, ChainHead, Instance

SYSTEM_CHAIN = "system"
GENESIS = "0" * 64

# The fields that are hashed, in the order they are exported.
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


def timestamp(value: datetime) -> str:
    """UTC with microseconds; naive values (as SQLite returns them) are UTC."""
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.isoformat(timespec="microseconds") + "Z"


_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def _canonical(values: dict[str, Any]) -> bytes:
    return _ENCODER.encode(values).encode()


# The canonical JSON of a record, written field by field in sorted order: the same text as
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


def record_hash(values: dict[str, Any]) -> str:
    """The hash of one record given its fields (``at`` already as a string)."""
    return hashlib.sha256(_record_json([values.get(name) for name in FIELDS])).hexdigest()


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


def _make_records(
    chain: str,
    instance_id: str | None,
    start_seq: int,
    prev_hash: str,
    entries: Iterable[Entry],
    process_key: str | None,
    process_version: str | None,
) -> list[AuditRecord]:
    records = []
    seq = start_seq
    for entry in entries:
        seq += 1
        at = entry.at or datetime.now(UTC)
        values: dict[str, Any] = {
            "chain": chain,
            "seq": seq,
            "instance_id": instance_id,
            "at": timestamp(at),
            "actor": entry.actor,
            "action": entry.action,
            "task_id": entry.task_id,
            "element_id": entry.element_id,
            "element_name": entry.element_name,
            "lane": entry.lane,
            "from_state": entry.from_state,
            "to_state": entry.to_state,
            "changes": entry.changes,
            "detail": entry.detail,
            "process_key": process_key,
            "process_version": process_version,
            "prev_hash": prev_hash,
        }
        digest = record_hash(values)
        values["at"] = at
        records.append(AuditRecord(hash=digest, **values))
        prev_hash = digest
    return records


_INSERTED = ("chain", *[name for name in FIELDS if name != "chain"], "hash")


_INSERT = insert(cast(Table, AuditRecord.__table__))


def _insert(session: Session, records: list[AuditRecord]) -> None:
    # Core executemany, no RETURNING: records are never read back in the same unit of work.
    session.connection().execute(_INSERT, [{name: getattr(r, name) for name in _INSERTED} for r in records])


def append_to_instance(
    session: Session,
    instance: Instance,
    entries: Iterable[Entry],
    process_version: str | None,
) -> list[AuditRecord]:
    """Chain ``entries`` onto the instance's trail and move its head; same transaction as the change."""
    records = _make_records(
        instance.id,
        instance.id,
        instance.audit_seq,
        instance.audit_head or GENESIS,
        entries,
        instance.process_key,
        process_version,
    )
    if records:
        _insert(session, records)
        instance.audit_seq = records[-1].seq
        instance.audit_head = records[-1].hash
    return records


def append_to_system(session: Session, entry: Entry) -> AuditRecord:
    """Chain one record that belongs to no instance (deployments, users, refused logins)."""
    head = session.execute(
        select(ChainHead).where(ChainHead.chain == SYSTEM_CHAIN).with_for_update()
    ).scalar_one_or_none()
    if head is None:
        head = ChainHead(chain=SYSTEM_CHAIN, seq=0, hash=GENESIS)
        session.add(head)
    (record,) = _make_records(SYSTEM_CHAIN, None, head.seq, head.hash, [entry], None, None)
    _insert(session, [record])
    head.seq, head.hash = record.seq, record.hash
    return record


# -- checkpoints ------------------------------------------------------------------------


def _checkpoint_hash(at: str, heads: dict[str, Any], prev_hash: str) -> str:
    return hashlib.sha256(_canonical({"at": at, "heads": heads, "prev_hash": prev_hash})).hexdigest()


def _sign(key: bytes, digest: str) -> str:
    return hmac.new(key, digest.encode(), hashlib.sha256).hexdigest()


def current_heads(session: Session) -> dict[str, list[Any]]:
    heads: dict[str, list[Any]] = {
        chain: [seq, digest]
        for chain, seq, digest in session.execute(
            select(Instance.id, Instance.audit_seq, Instance.audit_head).where(Instance.audit_seq > 0)
        )
    }
    for chain, seq, digest in session.execute(select(ChainHead.chain, ChainHead.seq, ChainHead.hash)):
        heads[chain] = [seq, digest]
    return heads


def write_checkpoint(
    session: Session, key: bytes, unless_within: timedelta | None = None, now: datetime | None = None
) -> AuditCheckpoint | None:
    """Sign the current head of every chain into the checkpoint chain (nothing when the last
    checkpoint is younger than ``unless_within``). Checkpoint writers take turns."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("LOCK TABLE audit_checkpoints IN SHARE ROW EXCLUSIVE MODE"))
    last = session.execute(
        select(AuditCheckpoint).order_by(AuditCheckpoint.id.desc()).limit(1)
    ).scalar_one_or_none()
    if last is not None and unless_within is not None:
        last_at = last.at
        if last_at > (now or datetime.now(UTC)) - unless_within:
            return None
    prev_hash = last.hash if last else GENESIS
    at = datetime.now(UTC)
    heads = current_heads(session)
    digest = _checkpoint_hash(timestamp(at), heads, prev_hash)
    checkpoint = AuditCheckpoint(
        at=at, heads=heads, prev_hash=prev_hash, hash=digest, signature=_sign(key, digest)
    )
    session.add(checkpoint)
    session.flush()
    return checkpoint


# -- verification -----------------------------------------------------------------------


@dataclass
class Verification:
    ok: bool
    records: int
    first_broken: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "records": self.records, "first_broken": self.first_broken}


_COLUMNS = [getattr(AuditRecord, name) for name in FIELDS] + [AuditRecord.id, AuditRecord.hash]


def _describe(chain: str, seq: int, row_id: int | None = None) -> str:
    where = "system chain" if chain == SYSTEM_CHAIN else f"instance {chain}"
    return f"{where} record #{seq}" + (f" (row {row_id})" if row_id is not None else "")


def verify(session: Session, key: bytes, instance_id: str | None = None) -> Verification:
    """Recompute every chain (or one instance's) and the checkpoints; name the first broken record."""
    query = select(*_COLUMNS).order_by(AuditRecord.chain, AuditRecord.seq)
    if instance_id is not None:
        query = query.where(AuditRecord.chain == instance_id)
    heads = {chain: (seq, digest) for chain, (seq, digest) in current_heads(session).items()}
    if instance_id is not None:
        heads = {c: h for c, h in heads.items() if c == instance_id}

    count = 0
    chain = ""
    expected_seq = 0
    prev_hash = GENESIS
    seen_chains: dict[str, tuple[int, str]] = {}
    broken: str | None = None
    sha256 = hashlib.sha256
    chain_at, seq_at, at_at, prev_at = (FIELDS.index(n) for n in ("chain", "seq", "at", "prev_hash"))
    width = len(FIELDS)
    for row in session.execute(query.execution_options(yield_per=5000)):
        values = list(row[:width])
        row_id, stored_hash = row[width], row[width + 1]
        if values[chain_at] != chain:
            if chain:
                seen_chains[chain] = (expected_seq, prev_hash)
            chain, expected_seq, prev_hash = values[chain_at], 0, GENESIS
        expected_seq += 1
        count += 1
        seq = values[seq_at]
        if seq != expected_seq:
            broken = f"{_describe(chain, expected_seq)} is missing (the chain jumps to #{seq})"
            break
        if values[prev_at] != prev_hash:
            broken = f"{_describe(chain, seq, row_id)}: prev_hash does not match record #{expected_seq - 1}"
            break
        values[at_at] = timestamp(values[at_at])
        if sha256(_record_json(values)).hexdigest() != stored_hash:
            broken = f"{_describe(chain, seq, row_id)}: content does not match its hash"
            break
        prev_hash = stored_hash
    if broken is None and chain:
        seen_chains[chain] = (expected_seq, prev_hash)

    if broken is None:
        broken = _check_heads(heads, seen_chains)
    if broken is None:
        broken = _check_checkpoints(session, key, seen_chains, instance_id)
    return Verification(ok=broken is None, records=count, first_broken=broken)


def _check_heads(heads: dict[str, tuple[int, str]], seen: dict[str, tuple[int, str]]) -> str | None:
    for chain, (seq, digest) in sorted(heads.items()):
        last_seq, last_hash = seen.get(chain, (0, GENESIS))
        if last_seq < seq:
            return f"{_describe(chain, last_seq + 1)} is missing (the chain head names #{seq})"
        if last_seq > seq or last_hash != digest:
            return f"{_describe(chain, last_seq)} does not match the chain head"
    for chain in sorted(set(seen) - set(heads)):
        return f"{_describe(chain, 1)}: records of a chain with no head (its instance row is gone)"
    return None


def _check_checkpoints(
    session: Session, key: bytes, seen: dict[str, tuple[int, str]], instance_id: str | None
) -> str | None:
    prev_hash = GENESIS
    latest: AuditCheckpoint | None = None
    for checkpoint in session.execute(select(AuditCheckpoint).order_by(AuditCheckpoint.id)).scalars():
        digest = _checkpoint_hash(timestamp(checkpoint.at), checkpoint.heads, checkpoint.prev_hash)
        if checkpoint.prev_hash != prev_hash or digest != checkpoint.hash:
            return f"checkpoint #{checkpoint.id}: does not match its hash chain"
        if not hmac.compare_digest(_sign(key, digest), checkpoint.signature):
            return f"checkpoint #{checkpoint.id}: signature does not verify with the audit key"
        prev_hash, latest = checkpoint.hash, checkpoint
    if latest is None:
        return None
    # Every chain the newest checkpoint saw must still hold the record it saw.
    signed_heads = [(c, h) for c, h in latest.heads.items() if instance_id is None or c == instance_id]
    for chain, (seq, _digest) in sorted(signed_heads):
        last_seq, _ = seen.get(chain, (0, GENESIS))
        if last_seq < seq:
            return f"{_describe(chain, last_seq + 1)} is missing (checkpoint #{latest.id} saw #{seq})"
    return _check_signed_records(session, latest, instance_id)


def _check_signed_records(session: Session, checkpoint: AuditCheckpoint, instance_id: str | None) -> str | None:
    for chain, (seq, digest) in sorted(checkpoint.heads.items()):
        if instance_id is not None and chain != instance_id:
            continue
        stored = session.execute(
            select(AuditRecord.hash).where(AuditRecord.chain == chain, AuditRecord.seq == seq)
        ).scalar_one_or_none()
        if stored != digest:
            return f"{_describe(chain, seq)}: differs from what checkpoint #{checkpoint.id} signed"
    return None


# -- export -----------------------------------------------------------------------------

EXPORT_FIELDS = ("id", *FIELDS, "hash")


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
