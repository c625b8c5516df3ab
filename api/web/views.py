"""How a case reads: the process's own view of its data, its history in words, its raw data for auditors.

A process declares how its cases read in its folder, beside the BPMN:

- ``view.html`` — a Jinja template of the document, directive, report or pledge as people write
  it, shown at the top of every task page, of the case page and of the print view. Designers
  write it, so it runs in a sandbox (:class:`jinja2.sandbox.ImmutableSandboxedEnvironment`,
  autoescaped): no Python internals, no changing the data. A view that fails shows the readable
  default instead, with the reason (file and line) for designers, administrators and auditors.
- ``labels.json`` (read through :mod:`engine.labels`) — ``fields``: what the data keys are called,
  ``values``: coded values in words. Field labels and choice labels of the process's forms count
  too; ``labels.json`` wins on a case's pages.

Both are deployed with the process version, so a case always reads with the files of the version
it runs on. What a view may call is listed in :func:`_view_context`; the designers' guide is the
"Case views" section of the README.
"""

from __future__ import annotations

import json
import re
import threading
import traceback
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from jinja2 import ChainableUndefined, FunctionLoader, TemplateSyntaxError
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment
from markupsafe import Markup, escape
from sqlalchemy.orm import Session

from api.web import media, trends
from api.web.common import WebUser, _labels, in_zone
from api.web.i18n import translations
from api.web.people import People
from engine import attachments, audit, definitions, worklist
from engine.bpmn_xml import is_bpmn_file
from engine.labels import NONE, Labels, labels_of
from engine.models import Attachment, Instance, ProcessVersion
from forms.definition import Form, FormError, walk_fields

VIEW_FILE = "view.html"
READERS_OF_RAW_DATA = ("auditor", "admin")
_ISO_MOMENT = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:?\d{2})?$")
_ATTACHMENT = re.compile(r"^attachment:(\d{1,12})$")
_PERSON_KEYS = frozenset({"user", "name", "position", "rank", "department"})  # a person field's value
_LONG_TEXT = 300  # a change in the history shows this many characters of a long text


# -- the words of a version ---------------------------------------------------------------------


@dataclass(frozen=True)
class Vocabulary:
    """What the data keys of one process version are called in one language, and their coded values."""

    fields: dict[str, str] = field(default_factory=dict)
    values: dict[str, dict[str, str]] = field(default_factory=dict)
    order: tuple[str, ...] = ()  # the keys in the order the forms ask for them, then labels.json's

    def label(self, key: str) -> str | None:
        return self.fields.get(key)

    def value(self, key: str, value: Any) -> str | None:
        if isinstance(value, bool) or not isinstance(value, str | int):
            return None
        return self.values.get(key, {}).get(str(value))


def _forms_of(row: ProcessVersion, locale: str) -> list[Form]:
    found = []
    files = definitions.files_of(row)
    for name in sorted(files):
        if not (name.startswith("forms/") and name.endswith(".json")):
            continue
        try:
            found.append(Form.from_document(json.loads(files[name]), locale=locale))
        except (ValueError, FormError, TypeError):
            continue  # a form that does not read is refused at deploy; here it just names nothing
    return found


_vocabularies: dict[tuple[int, str, str], Vocabulary] = {}
_vocabulary_lock = threading.Lock()


def vocabulary(row: ProcessVersion, locale: str) -> Vocabulary:
    """The labels of ``row`` in ``locale``: labels.json's first, then the forms' (cached per version)."""
    key = (row.id, row.hash, locale)
    found = _vocabularies.get(key)
    if found is not None:
        return found
    labels = labels_of(row)
    fields: dict[str, str] = {}
    values: dict[str, dict[str, str]] = {}
    order: list[str] = []
    for form in _forms_of(row, locale):
        for each in form.fields:
            if each.name not in order:
                order.append(each.name)
        for each in walk_fields(form.fields):
            if each.label and each.label != each.name:
                fields.setdefault(each.name, each.label)
            for choice in each.choices:
                if isinstance(choice.value, str | int) and not isinstance(choice.value, bool):
                    values.setdefault(each.name, {}).setdefault(str(choice.value), choice.label)
    for name, texts in labels.fields.items():
        if texts.get(locale):
            fields[name] = texts[locale]
        if name not in order:
            order.append(name)
    for name, coded in labels.values.items():
        for token, texts in coded.items():
            if texts.get(locale):
                values.setdefault(name, {})[token] = texts[locale]
    made = Vocabulary(fields, values, tuple(order))
    with _vocabulary_lock:
        _vocabularies[key] = made
    return made


# -- values in people's words ---------------------------------------------------------------------


def lines(text: Any) -> Markup:
    """A text with its line breaks kept: each line its own line on the page."""
    if text is None or text == "":
        return Markup("")
    return Markup("<br>\n").join(escape(line) for line in str(text).splitlines())


def number(value: Any) -> str:
    """1234567 → "1,234,567" (a year such as 2027 stays as it is)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "" if value is None else str(value)
    if abs(value) < 10000:
        return str(value)
    return f"{value:,}" if isinstance(value, int) or value == int(value) else f"{value:,.2f}"


def won(value: Any) -> str:
    """An amount of money: "12,500,000원"."""
    if value is None or value == "":
        return "—"
    try:
        amount = int(value)
    except (TypeError, ValueError):
        return str(value)
    return f"{amount:,}원"


class Formatter:
    """Values as people read them: labels for coded values, people by name, times on the city's
    clock, yes/no, lists as lists, files as links — never a raw key, None, True or an escape."""

    def __init__(self, words: Vocabulary, people: People, local: Callable[..., str], files: Mapping[int, Attachment],
                 locale: str) -> None:
        self.words, self.people, self.local, self.files, self.locale = words, people, local, files, locale
        gettext = translations(locale).gettext
        self._yes, self._no = gettext("Yes"), gettext("No")

    def text(self, key: str, value: Any) -> str:
        """A scalar as plain text (for a list joined by commas, a stamp, a title)."""
        if value is None or value == "":
            return "—"
        if isinstance(value, bool):
            return self._yes if value else self._no
        labelled = self.words.value(key, value)
        if labelled is not None:
            return labelled
        if isinstance(value, int | float):
            return number(value)
        text = str(value)
        if _ISO_MOMENT.match(text):
            try:
                moment = datetime.fromisoformat(text)
            except ValueError:
                return text
            return self.local(moment) if moment.tzinfo else moment.strftime("%Y-%m-%d %H:%M")
        if self.people.knows(text):
            return self.people(text)
        found = _ATTACHMENT.match(text)
        if found:
            attachment = self.files.get(int(found.group(1)))
            return attachment.filename if attachment is not None else text
        return text

    def photo(self, ref: Any) -> Markup:
        """A photo reference (or a list of them) as thumbnails; a file that is no photo by its name."""
        return media.photo_html(ref, self.files.values(), self.locale)

    def attachment(self, ref: Any) -> Markup:
        found = _ATTACHMENT.match(ref) if isinstance(ref, str) else None
        attachment = self.files.get(int(found.group(1))) if found else None
        if attachment is None:
            return Markup("—") if not ref else escape(str(ref))
        return Markup('<a href="/api/attachments/{}">{}</a>').format(attachment.id, attachment.filename)

    def place(self, value: Any) -> Markup:
        """A place: its address and coordinates, and a map where the city has a tile server."""
        return media.place_html(value, self.locale)

    def value(self, key: str, value: Any, depth: int = 0) -> Markup:
        """Any value as HTML: a list as a list, an object by its labelled parts, a text with its lines."""
        if isinstance(value, list):
            if not value:
                return Markup("—")
            if all(not isinstance(item, dict | list) for item in value):
                if all(isinstance(item, str) and _ATTACHMENT.match(item) for item in value):
                    return self.photo(value)
                return escape(", ".join(self.text(key, item) for item in value))
            items = Markup("").join(Markup("<li>{}</li>").format(self.value(key, item, depth + 1)) for item in value)
            return Markup('<ol class="cf-list">{}</ol>').format(items)
        if isinstance(value, dict):
            if media.is_place(value):
                return self.place(value)
            if isinstance(value.get("user"), str) and set(value) <= _PERSON_KEYS:
                return escape(self.people(value))  # a person field: {user, name, position, rank, department}
            if depth > 4:
                return Markup("…")
            named = [(self.words.label(k), k, v) for k, v in value.items()]
            parts = [(label, k, v) for label, k, v in named if label and not _empty(v)]
            if not parts:  # nothing labelled: the values alone, never their keys
                return escape(" · ".join(self.text(k, v) for k, v in value.items()
                                         if not _empty(v) and not isinstance(v, dict | list)) or "—")
            rows = Markup("").join(Markup("<dt>{}</dt><dd>{}</dd>").format(label, self.value(k, v, depth + 1))
                                   for label, k, v in parts)
            return Markup('<dl class="cf-data cf-nested">{}</dl>').format(rows)
        if isinstance(value, str) and _ATTACHMENT.match(value):
            return self.photo(value)
        if isinstance(value, str) and "\n" in value:
            return lines(value)
        return escape(self.text(key, value))

    def short(self, key: str, value: Any) -> Markup:
        """A value in a history line: long texts cut short."""
        if isinstance(value, str) and len(value) > _LONG_TEXT:
            return lines(value[:_LONG_TEXT] + "…")
        return self.value(key, value)

    def fields(self, data: Mapping[str, Any], keys: Iterable[str] | None = None) -> Markup:
        """The labelled, filled-in keys of ``data`` (``keys`` or all, in the forms' order) as a list."""
        chosen = list(keys) if keys is not None else [
            *self.words.order, *sorted(k for k in data if k not in self.words.order)]
        rows = [(self.words.label(k), k) for k in chosen if k in data and not _empty(data[k])]
        shown = Markup("").join(Markup("<dt>{}</dt><dd>{}</dd>").format(label, self.value(k, data[k]))
                                for label, k in rows if label)
        return Markup('<dl class="cf-data">{}</dl>').format(shown) if shown else Markup("")


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def stamp(name: str, action: str = "") -> Markup:
    """A seal (도장) drawn in CSS: a red circle with the name, the action above it."""
    size = "cf-stamp-long" if len(name) > 3 else ""
    # a seal of four letters or more is cut in two lines, as a carved name is
    carved = Markup("<br>").join((name[: (len(name) + 1) // 2], name[(len(name) + 1) // 2:])) if size else name
    return Markup('<span class="cf-stamp {}" role="img" aria-label="{}"><span>{}</span></span>').format(
        size, f"{action} {name}".strip(), carved)


# -- the sandbox ---------------------------------------------------------------------------------


class _ViewUndefined(ChainableUndefined):
    """A missing value prints as nothing (``data.document_number`` before there is one); what the
    sandbox refused fails loudly, so the designer learns of it."""

    __slots__ = ()

    def __str__(self) -> str:
        if self._undefined_exception is SecurityError:
            self._fail_with_undefined_error()
        return ""


_sources: dict[str, tuple[str, str]] = {}  # template name → (source, file shown in errors)
_sources_lock = threading.Lock()


def _load(name: str) -> tuple[str, str, Callable[[], bool]] | None:
    found = _sources.get(name)
    return (found[0], found[1], lambda: True) if found else None


_sandbox = ImmutableSandboxedEnvironment(loader=FunctionLoader(_load), autoescape=True, undefined=_ViewUndefined,
                                         auto_reload=False, cache_size=200)
_sandbox.filters.update(lines=lines, won=won, number=number)
_sandbox.policies["json.dumps_kwargs"] = {"sort_keys": True, "ensure_ascii": False}


class ViewFailed(Exception):
    """A process's view could not be shown; the message names the file and line for its designer."""


def _view_template(row: ProcessVersion) -> Any:
    source = definitions.files_of(row).get(VIEW_FILE)
    if not isinstance(source, str):
        return None
    name = f"{row.hash}/{VIEW_FILE}"
    shown = f"workflows/{row.key}/{VIEW_FILE}"
    with _sources_lock:
        _sources.setdefault(name, (source, shown))
    try:
        return _sandbox.get_template(name)
    except TemplateSyntaxError as exc:
        raise ViewFailed(f"{shown}:{exc.lineno}: {exc.message}") from None


def _failure(exc: BaseException, shown: str) -> str:
    line = next((frame.lineno for frame in reversed(traceback.extract_tb(exc.__traceback__))
                 if frame.filename == shown), None)
    kind = "refused by the sandbox" if isinstance(exc, SecurityError) else type(exc).__name__
    return f"{shown}:{line or 0}: {kind}: {exc}"


# -- a case, read -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    label: str
    old: Markup
    new: Markup


@dataclass(frozen=True)
class Event:
    """One line of a case's history, in words: who, what, where, for whom, what changed."""

    at: str
    actor: str
    action: str
    element: str | None
    on_behalf_of: str | None
    changes: list[Change]


@dataclass(frozen=True)
class Reading:
    """A case as its pages show it."""

    document: Markup  # the process's view (or the readable default)
    state: str  # the status line: 진행 중, 완료 — or the process's own word for how it ended (회수, 폐기)
    ending: str | None  # the data's result in words when the process names it (for the badge's colour)
    history: list[Event]
    raw: str | None  # the data as JSON, for auditors and administrators only
    view_problem: str | None  # why the process's view could not be shown (for designers)


class CaseReader:
    """Everything a page needs to read one case, its people and files looked up once."""

    def __init__(self, session: Session, viewer: WebUser, instance: Instance, version: ProcessVersion) -> None:
        self.session, self.viewer, self.instance, self.version = session, viewer, instance, version
        self.locale = viewer.locale
        self.labels: Labels = labels_of(version) if version is not None else NONE
        self.words = vocabulary(version, self.locale)
        self.trail = list(audit.records(session, instance.id))
        data = instance.data or {}
        self.people = People(session, self.locale, [
            instance.initiator or "", *(str(r["actor"]) for r in self.trail), *_logins_in(data),
            *(str((r.get("detail") or {}).get("on_behalf_of") or "") for r in self.trail)])
        self.files = {a.id: a for a in attachments.attachments_of(session, instance.id)}
        self.local = in_zone(viewer.zone)
        self.format = Formatter(self.words, self.people, self.local, self.files, self.locale)
        self.gettext = translations(self.locale).gettext

    # the status line ------------------------------------------------------------------------

    def ending(self) -> str | None:
        """How the case ended (or is ending), in the process's words: ``values.result`` of labels.json."""
        result = (self.instance.data or {}).get("result")
        return self.labels.value("result", result, self.locale) if result else None

    def state(self, status_label: Callable[[str], str]) -> str:
        status = status_label(self.instance.status)
        ending = self.ending()
        if ending and self.instance.status == "completed":
            return ending
        if ending and self.instance.status == "running":
            return f"{ending} · {status}"
        outcome = (self.instance.data or {}).get("outcome")
        said = self.labels.value("outcome", outcome, self.locale) if outcome else None
        if said and self.instance.status == "running":
            return f"{status} · {said}"
        return status

    # the document -----------------------------------------------------------------------------

    def acted_at(self, username: str, *elements: str) -> str | None:
        """When ``username`` last completed a task (of one of ``elements``, when given)."""
        for record in reversed(self.trail):
            if record["action"] == "task.completed" and record["actor"] == username and (
                    not elements or record["element_id"] in elements):
                return str(record["at"])
        return None

    def _view_context(self, printing: bool) -> dict[str, Any]:
        data = self.instance.data or {}
        status_label, _ = _labels(self.locale)
        return {
            "data": data,
            "locale": self.locale,
            "printing": printing,
            "case": {
                "id": self.instance.id, "status": self.instance.status, "state": self.state(status_label),
                "ending": self.ending(), "started_at": self.instance.started_at, "ended_at": self.instance.ended_at,
                "started_by": self.instance.initiator, "business_key": self.instance.business_key,
                "process": self.labels.process(self.locale, self.version.name),
                # the steps it waits at now, by element id (a report waiting for its check: ``check_report``)
                "waiting_at": sorted({task.element_id for task in worklist.tasks_of(self.session, self.instance.id)
                                      if not task.standing}),
            },
            "person": self.people, "name": self.people.name, "position": self.people.position,
            "local": self.local,
            "label": lambda key: self.words.label(key) or key,
            "show": lambda value, key="": self.format.value(key, value),
            "value": lambda key, value: self.format.text(key, value),
            "fields": lambda keys=None: self.format.fields(data, keys),
            "t": lambda ko, en=None: (en or ko) if self.locale == "en" else ko,
            "word": lambda name, default="": self.labels.word(name, self.locale, default),
            "attachment": self.format.attachment,
            "photo": self.format.photo,
            "place": self.format.place,
            "stamp": stamp,
            "acted_at": self.acted_at,
            "past": self.past,
            # a key indicator's values against its target as a chart; a period (2027-01, 2027-Q1) in words
            "trend": lambda measurements, unit="", caption="": trends.trend_chart(
                measurements, unit=str(unit or ""), locale=self.locale, caption=str(caption or ""),
                word=lambda judgement: self.format.text("judgement", judgement)),
            "period_name": lambda period, short=False: trends.period_name(str(period or ""), self.locale, short),
        }

    def past(self, moment: Any) -> bool:
        """Whether ``moment`` (a datetime or its ISO text; a date alone is its end) has gone by."""
        now = self.viewer.now or datetime.now(UTC)
        try:
            when = moment if isinstance(moment, datetime) else datetime.fromisoformat(str(moment))
        except ValueError:
            return False
        if when.tzinfo is None:
            whole_day = timedelta(days=1) if len(str(moment)) == 10 else timedelta()
            when = when.replace(tzinfo=self.viewer.zone) + whole_day
        return when < now

    def document(self, printing: bool = False) -> tuple[Markup, str | None]:
        """The process's view of the case, or the readable default with why the view failed."""
        problem = None
        try:
            template = _view_template(self.version)
            if template is not None:
                return Markup(template.render(self._view_context(printing))), None  # noqa: S704 - autoescaped
        except ViewFailed as exc:
            problem = str(exc)
        except Exception as exc:  # a designer's template may fail in any way; the page stays readable
            problem = _failure(exc, f"workflows/{self.version.key}/{VIEW_FILE}")
        return self.format.fields(self.instance.data or {}), problem

    # the history ------------------------------------------------------------------------------

    def history(self) -> list[Event]:
        """The trail in words, the same for everyone: what people did, what was offered to them, what the
        timers did and every labelled change. The engine's own steps and unlabelled keys are in the
        auditor's workspace (api.web.timeline)."""
        _, action_words = _labels(self.locale)
        people_tasks = user_tasks(self.version)
        events = []
        for record in self.trail:
            changes = []
            for key, (old, new) in sorted((record.get("changes") or {}).items()):
                label = self.words.label(key)
                change = self._change(label, key, old, new) if label else None
                if change is not None and change.old != change.new:  # None → "" reads as no change
                    changes.append(change)
            if not changes and _inner_step(record, people_tasks):
                continue
            element_id, element_name = record.get("element_id"), record.get("element_name")
            element = self.labels.element(element_id, self.locale, element_name or "")
            behalf = (record.get("detail") or {}).get("on_behalf_of")
            events.append(Event(str(record["at"]), self.people(str(record["actor"])), action_words(record["action"]),
                                element or None, self.people(str(behalf)) if behalf else None, changes))
        return events

    def _change(self, label: str, key: str, old: Any, new: Any) -> Change:
        """A changed value; a list that grew shows only what was added (a report, a review, an opinion)."""
        if isinstance(old, list) and isinstance(new, list) and old and len(new) > len(old) and new[:len(old)] == old:
            return Change(label, Markup("…"), self.format.short(key, new[len(old):]))
        return Change(label, self.format.short(key, old), self.format.short(key, new))

    def read(self, status_label: Callable[[str], str], printing: bool = False) -> Reading:
        may_read_raw = self.viewer.principal.has_role(*READERS_OF_RAW_DATA)
        document, problem = self.document(printing)
        raw = json.dumps(self.instance.data or {}, ensure_ascii=False, indent=2, sort_keys=True, default=str)
        # The case page's history is the same for everyone; auditors read the whole trail, the engine's
        # own steps included, in their workspace (/audit/cases/{id}), which the page links to.
        return Reading(document, self.state(status_label), self.ending(), self.history(),
                       raw if may_read_raw else None, problem)


_INNER_ACTORS = ("system:engine", "system:worker")


def _inner_step(record: Mapping[str, Any], people_tasks: frozenset[str]) -> bool:
    """A step the engine took by itself (a script, a gateway, an event) that changed nothing people read."""
    return (record["actor"] in _INNER_ACTORS and str(record["action"]).startswith(("task.", "job."))
            and record.get("element_id") not in people_tasks)


_user_task_ids: dict[tuple[int, str], frozenset[str]] = {}


def user_tasks(row: ProcessVersion) -> frozenset[str]:
    """The ids of the version's user tasks (their arrival and withdrawal stay in everyone's history)."""
    key = (row.id, row.hash)
    found = _user_task_ids.get(key)
    if found is None:
        ids: set[str] = set()
        for name, text in definitions.files_of(row).items():
            if is_bpmn_file(name):
                ids.update(re.findall(r"<(?:[A-Za-z0-9_]+:)?userTask\b[^>]*?\bid=\"([^\"]+)\"", text))
        found = _user_task_ids[key] = frozenset(ids)
    return found


def _logins_in(value: Any, depth: int = 0) -> list[str]:
    """Every string in the data that could be someone's login (looked up at once with the rest)."""
    if depth > 6:
        return []
    if isinstance(value, str):
        return [value] if 0 < len(value) <= 100 and value.isascii() and value[:1].isalpha() else []
    if isinstance(value, dict):
        return [found for item in value.values() for found in _logins_in(item, depth + 1)]
    if isinstance(value, list):
        return [found for item in value[:200] for found in _logins_in(item, depth + 1)]
    return []
