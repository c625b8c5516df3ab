"""A case's trail as a timeline someone reads in a minute: who did what to which step, when, and
what changed — the one place that groups, labels and folds a trail's records.

:func:`build` takes one case's records (``engine.trail.view_case``) and :class:`Words` (the
version's step kinds, its labels and forms' words, the people it names) and gives the entries the
auditor's case page shows; the case page's history may show them too.

What shows by default is what people did and what became of the case:

- every act of a person (a record whose actor is someone, not ``system:…``): starting the case,
  completing a step — a deputy's as "A for B" (대결) —, claiming, opening, commenting, attaching,
  sharing, cancelling, correcting data, reading the trail (열람);
- the case's own events: finished, cancelled, stopped by an error, retried, a step in error, a timer
  that fired, a message that came in, an automatic step retried;
- a person's step once, from its arrival (folded into it, shown as "arrived") to its completion;
  a step that waits for someone now, and a case waiting for a time or a message now.

The engine's own steps — gateways, scripts, business rules, service calls, merges, sub-processes,
start and end events, a wait that is over, a person's step the engine withdrew before anyone
touched it — are folded: each entry counts those that followed it, and ``everything`` shows them
in place, marked as the engine's.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from markupsafe import Markup, escape
from sqlalchemy.orm import Session

from api.web.common import in_zone
from api.web.i18n import translations
from api.web.people import People
from api.web.views import Formatter, Vocabulary, vocabulary
from engine import attachments, trail
from engine.identity import Person
from engine.labels import Labels, labels_of
from engine.models import ProcessVersion

# What became of the case, whoever (or whatever) did it.
CASE_EVENTS = frozenset({
    "instance.created", "instance.completed", "instance.cancelled", "instance.errored", "instance.retried",
    "instance.data_edited", "instance.migrated", "task.error", "timer.fired", "message.received", "job.retried",
})
ENDINGS = frozenset({"task.completed", "task.cancelled", "task.error"})
ARRIVALS = frozenset({"task.ready", "task.waiting"})

SHOWN, ARRIVAL, ENGINE = "shown", "arrival", "engine"


@dataclass(frozen=True)
class Who:
    """Someone as colleagues know them (name, position, department), or the system in words."""

    name: str
    position: str | None = None
    department: str | None = None
    person: bool = False


@dataclass(frozen=True)
class Change:
    """A labelled value that changed; ``old`` is None when it was empty before."""

    label: str
    old: Markup | None
    new: Markup


@dataclass
class Entry:
    """One line of the timeline."""

    seq: int
    at: datetime
    action: str  # the record's action code; pages say it in words
    actor: str  # who the record names (shown as ``who``)
    step: str | None  # the step's name in the reader's language
    who: Who
    for_whom: Who | None = None  # the absent colleague a deputy acted for (대결)
    lane: str | None = None  # whom a waiting step waits for
    changes: list[Change] = field(default_factory=list)
    notes: list[tuple[str, Markup]] = field(default_factory=list)  # (what, text): a reason, a comment, a file
    arrived: datetime | None = None  # when a person's step reached them
    waiting: bool = False  # the step waits now
    engine: bool = False  # one of the engine's own steps (shown only with everything)
    folded: int = 0  # the engine's steps right after this entry, folded away
    again: list[datetime] = field(default_factory=list)  # the same person read the trail again, right after


@dataclass
class Timeline:
    entries: list[Entry]
    records: int  # every record of the trail
    engine_steps: int  # the engine's own steps among them
    everything: bool
    leading: int = 0  # engine steps before the first entry, folded away


@dataclass(frozen=True)
class Words:
    """What a timeline is told in: the version's step kinds and words, the people, the language."""

    steps: trail.Steps
    labels: Labels
    vocabulary: Vocabulary
    format: Formatter
    people: Mapping[str, Person]
    gettext: Callable[[str], str]
    locale: str

    def who(self, actor: str | None) -> Who:
        return who(actor, self.people, self.gettext)

    def step(self, record: Mapping[str, Any]) -> str | None:
        element_id = record.get("element_id")
        name = record.get("element_name") or self.steps.name(element_id) or ""
        return self.labels.element(element_id, self.locale, name) or None

    def lane(self, name: str | None) -> str | None:
        """A lane (whom a step waits for) in the reader's language."""
        return self.labels.element(self.steps.lane(name), self.locale, name) if name else None

    def label(self, key: str) -> str:
        """A data key as people call it; one no form or label names, in plain words."""
        return self.vocabulary.label(key) or key.replace("_", " ")


def who(actor: str | None, people: Mapping[str, Person], gettext: Callable[[str], str]) -> Who:
    """Anyone a record names: a person by name, position and department; the system in words."""
    if not actor:
        return Who("—")
    person = people.get(actor)
    if person is not None:
        return Who(person.name, person.position, person.department, person=True)
    if actor == "system:timer":
        return Who(gettext("the timer"))
    if actor == "system:message":
        return Who(gettext("a message from outside"))
    if actor.startswith("system:"):
        return Who(gettext("the system"))
    if actor.startswith("cli:"):
        return Who(gettext("the server's command line"))
    return Who(gettext("someone no longer here"))


def who_label(who: Who) -> str:
    """"김팀장 (팀장, 도로과)": name, then position and department when known."""
    details = [part for part in (who.position if who.position and not who.name.endswith(who.position) else None,
                                 who.department) if part]
    return f"{who.name} ({', '.join(details)})" if details else who.name


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def _is_person(actor: str) -> bool:
    return not actor.startswith("system:")


@dataclass
class _Task:
    """What the trail says of one task: how it ended, whether anyone touched it, when it arrived."""

    ended: str | None = None
    touched: bool = False
    arrived: datetime | None = None


def _tasks(records: Sequence[Mapping[str, Any]]) -> dict[str, _Task]:
    tasks: dict[str, _Task] = {}
    for record in records:
        task_id = record.get("task_id")
        if not task_id:
            continue
        task = tasks.setdefault(task_id, _Task())
        action = record["action"]
        if action in ENDINGS:
            task.ended = action
        elif action in ARRIVALS and task.ended is None:
            task.arrived = _moment(record["at"])
        if _is_person(str(record["actor"])) and action != "task.refused":
            task.touched = True
    return tasks


def place(record: Mapping[str, Any], steps: trail.Steps, tasks: Mapping[str, _Task]) -> str:
    """Whether a record shows as an entry, is the arrival of a person's step (folded into its end),
    or is one of the engine's own steps."""
    actor, action = str(record["actor"]), record["action"]
    if _is_person(actor) or action in CASE_EVENTS:
        return SHOWN
    if not action.startswith("task."):
        return ENGINE
    kind = steps.kind(record.get("element_id"), record.get("element_name"))
    task = tasks.get(record.get("task_id") or "") or _Task()
    if kind == "person":
        if action in ARRIVALS:
            if task.ended is None:
                return SHOWN  # it waits for someone now
            return ARRIVAL if task.ended == "task.completed" or task.touched else ENGINE
        if action == "task.cancelled" and not task.touched:
            return ENGINE  # withdrawn by the engine before anyone took it up: what caused it shows
        return SHOWN
    if kind == "waiting" and action in ARRIVALS and task.ended is None:
        return SHOWN  # the case waits for a time or a message now
    return ENGINE


def _moment(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    text = str(value)
    return datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith("Z") else text)


def changes(record: Mapping[str, Any], words: Words) -> list[Change]:
    """What a record changed, labelled, in the forms' order; nothing that stayed empty or the same."""
    found = []
    order = {key: index for index, key in enumerate(words.vocabulary.order)}
    for key, pair in sorted((record.get("changes") or {}).items(), key=lambda item: (order.get(item[0], 1 << 30),
                                                                                     words.label(item[0]))):
        old, new = (pair[0], pair[1]) if isinstance(pair, list | tuple) and len(pair) == 2 else (None, pair)
        if (_empty(old) and _empty(new)) or old == new:
            continue
        shown_old = None if _empty(old) else words.format.short(key, old)
        found.append(Change(words.label(key), shown_old, words.format.short(key, new)))
    return found


def notes(record: Mapping[str, Any], words: Words, local: Callable[..., str]) -> list[tuple[str, Markup]]:
    """What a record's detail says that people need: a reason, an error, a comment, a file, a colleague."""
    detail = record.get("detail") or {}
    if not isinstance(detail, Mapping):
        return []
    say = words.gettext
    action = record["action"]
    found: list[tuple[str, Markup]] = []

    def text(what: str, value: Any) -> None:
        if isinstance(value, str) and value.strip():
            found.append((what, words.format.short("", value)))

    if action == "instance.cancelled":
        text(say("Reason"), detail.get("reason"))
    elif action in ("instance.errored", "task.error"):
        text(say("Error"), detail.get("message"))
    elif action == "comment.added":
        text(say("Comment"), detail.get("body"))
    elif action == "attachment.added":
        text(say("File"), detail.get("filename"))
    elif action == "instance.shared":
        text(say("Shared with"), who_label(words.who(detail.get("with"))))
    elif action == "task.delegated":
        text(say("Handed to"), who_label(words.who(detail.get("to"))))
    elif action == "timer.fired" and isinstance(detail.get("due_at"), str):
        due = _moment(detail["due_at"])
        if _moment(record["at"]) - due > timedelta(minutes=1):  # it fired late: say when it was due
            text(say("Due"), local(due))
    elif action == "message.received":
        text(say("Message"), detail.get("message"))
    elif action == "job.retried":
        text(say("Last error"), detail.get("last_error"))
    elif action == "case.viewed" and detail.get("as") in ("csv", "jsonl"):
        found.append((say("Exported as"), escape(str(detail["as"]).upper())))
    return found


def entry(record: Mapping[str, Any], words: Words, local: Callable[..., str], *, engine: bool = False) -> Entry:
    """One record as a timeline entry."""
    detail = record.get("detail") or {}
    behalf = detail.get("on_behalf_of") if isinstance(detail, Mapping) else None
    actor = str(record["actor"])
    return Entry(
        seq=int(record["seq"]),
        at=_moment(record["at"]),
        action=record["action"],
        actor=actor,
        step=words.step(record),
        who=words.who(actor),
        for_whom=words.who(str(behalf)) if behalf and behalf != actor else None,
        lane=words.lane(record.get("lane")) if record["action"] in ARRIVALS else None,
        changes=changes(record, words),
        notes=notes(record, words, local),
        waiting=record["action"] in ARRIVALS,
        engine=engine,
    )


def _reads_again(last: Entry, record: Mapping[str, Any]) -> bool:
    """A reading of the trail right after the same person's last one (nothing between): one entry."""
    detail = record.get("detail") or {}
    return (record["action"] == trail.VIEWED == last.action and not last.folded and not last.notes
            and str(record["actor"]) == last.actor and detail.get("as") == "page")


def build(records: Sequence[Mapping[str, Any]], words: Words, zone: tzinfo, *, everything: bool = False) -> Timeline:
    """The timeline of one case's records (in chain order): short by default, every record with
    ``everything``."""
    local = in_zone(zone)
    tasks = _tasks(records)
    entries: list[Entry] = []
    leading = engine_steps = 0
    for record in records:
        where = place(record, words.steps, tasks)
        if where == ENGINE:
            engine_steps += 1
        if everything:
            entries.append(entry(record, words, local, engine=where == ENGINE))
            continue
        if where == ENGINE:
            if entries:
                entries[-1].folded += 1
            else:
                leading += 1
            continue
        if where == ARRIVAL:
            continue  # told by the step's own end, as its arrival
        last = entries[-1] if entries else None
        if last is not None and _reads_again(last, record):
            last.again.append(_moment(record["at"]))
            continue
        shown = entry(record, words, local)
        task = tasks.get(record.get("task_id") or "")
        if task is not None and record["action"] in ENDINGS:
            shown.arrived = task.arrived
        if shown.waiting:
            shown.arrived = shown.at
        entries.append(shown)
    return Timeline(entries, len(records), engine_steps, everything, leading)


def _names_in(value: Any, depth: int = 0) -> list[str]:
    """Every short text in a value that may be someone's login (all looked up in one query)."""
    if depth > 6:
        return []
    if isinstance(value, str):
        return [value] if 0 < len(value) <= 100 and value.isascii() and " " not in value else []
    if isinstance(value, Mapping):
        return [name for inner in value.values() for name in _names_in(inner, depth + 1)]
    if isinstance(value, list | tuple):
        return [name for inner in value[:200] for name in _names_in(inner, depth + 1)]
    return []


def words_of(session: Session, version: ProcessVersion, instance_id: str, records: Sequence[Mapping[str, Any]],
             locale: str, zone: tzinfo) -> Words:
    """The words a case's timeline is told in, its people and files looked up once."""
    names = {str(record["actor"]) for record in records}
    for record in records:
        names.update(_names_in(record.get("detail")))
        names.update(_names_in(record.get("changes")))
    named = People(session, locale, names)
    files = {attachment.id: attachment for attachment in attachments.attachments_of(session, instance_id)}
    words = vocabulary(version, locale)
    return Words(
        steps=trail.steps_of(version),
        labels=labels_of(version),
        vocabulary=words,
        format=Formatter(words, named, in_zone(zone), files, locale),
        people=trail.people(session, sorted(names)),
        gettext=translations(locale).gettext,
        locale=locale,
    )
