"""A process's own words in every language: ``workflows/<key>/labels.json``, deployed with the version.

The file sits beside the BPMN and is stored with each deployed version like its forms; deploying
checks its shape (:func:`problems_of`), the pages and notices read it through :func:`labels_of`
(cached per version row)::

    {
      "process": {"ko": "전자결재", "en": "Electronic approval"},
      "elements": {"review": {"en": "Review"}, "lane_drafter": {"en": "Drafter"}},
      "fields": {"title": {"ko": "제목", "en": "Title"}},
      "values": {"result": {"APPROVED": {"ko": "결재 완료", "en": "Approved"}}},
      "words": {"started_by": {"ko": "기안", "en": "Drafted by"}, "start": {"ko": "기안하기", "en": "Draft a document"}}
    }

- ``elements``: names of tasks, lanes and events by element id (Korean is the BPMN ``name``);
- ``fields``: data keys as people call them; ``values``: coded values of a data key in words;
- ``words``: the process's words for common actions (``started_by``: 기안, 지시, 보고, 등록, 제안; ``start``).

Every lookup takes a fallback or answers ``None``: a missing or unreadable file means no labels,
and the page shows what the BPMN says.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from engine.bpmn_xml import is_bpmn_file, parse_xml

FILE = "labels.json"
BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SECTIONS = ("process", "elements", "fields", "values", "words")

Texts = Mapping[str, str]


class VersionRow(Protocol):
    """What the loader needs of a deployed version (``engine.models.ProcessVersion``)."""

    @property
    def id(self) -> int: ...

    @property
    def hash(self) -> str: ...

    @property
    def files(self) -> Mapping[str, Any]: ...


def _texts(value: Any) -> dict[str, str]:
    """``{"ko": ..., "en": ...}`` kept when every entry is a non-empty string, else nothing."""
    if not isinstance(value, Mapping):
        return {}
    return {str(k): v for k, v in value.items() if isinstance(v, str) and v.strip()}


def _named(value: Any) -> dict[str, dict[str, str]]:
    if not isinstance(value, Mapping):
        return {}
    return {str(k): texts for k, v in value.items() if (texts := _texts(v))}


@dataclass(frozen=True)
class Labels:
    """One version's labels; lookups fall back to what the caller already shows."""

    names: dict[str, str] = field(default_factory=dict)
    elements: dict[str, dict[str, str]] = field(default_factory=dict)
    fields: dict[str, dict[str, str]] = field(default_factory=dict)
    values: dict[str, dict[str, dict[str, str]]] = field(default_factory=dict)
    words: dict[str, dict[str, str]] = field(default_factory=dict)
    named: dict[str, str] = field(default_factory=dict)  # a lane's or a task's BPMN name → its element id

    @classmethod
    def parse(cls, text: str | bytes) -> Labels:
        """Labels read from a file's text; :class:`ValueError` when it is no labels file."""
        try:
            document = json.loads(text)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ValueError(f"{FILE} is not valid JSON: {exc}") from exc
        problems = problems_of(document)
        if problems:
            raise ValueError(f"{FILE}: " + "; ".join(problems))
        values = document.get("values") or {}
        return cls(
            names=_texts(document.get("process")),
            elements=_named(document.get("elements")),
            fields=_named(document.get("fields")),
            values={str(key): _named(coded) for key, coded in values.items()},
            words=_named(document.get("words")),
        )

    def process(self, locale: str, default: str) -> str:
        return self.names.get(locale) or default

    def element(self, element_id: str | None, locale: str, default: str) -> str:
        if not element_id:
            return default
        return self.elements.get(element_id, {}).get(locale) or default

    def lane(self, name: str | None, locale: str) -> str | None:
        """A lane, known by its BPMN name (as open tasks hold it), in ``locale``."""
        return self.by_name(name, locale) if name else None

    def by_name(self, name: str, locale: str) -> str:
        """A lane or task known only by its BPMN name (Korean), in ``locale``; the name when unknown."""
        return self.element(self.named.get(name.strip()), locale, name)

    def field(self, key: str, locale: str) -> str | None:
        return self.fields.get(key, {}).get(locale)

    def value(self, key: str, value: Any, locale: str) -> str | None:
        if not isinstance(value, str | int) or isinstance(value, bool):
            return None
        return self.values.get(key, {}).get(str(value), {}).get(locale)

    def word(self, name: str, locale: str, default: str) -> str:
        return self.words.get(name, {}).get(locale) or default


NONE = Labels()


def problems_of(document: Any) -> list[str]:
    """What is wrong with a parsed labels document, in words naming the entry (empty when fine)."""
    if not isinstance(document, dict):
        return ["the file must hold one JSON object"]
    problems = [f"unknown section '{key}' (expected {', '.join(SECTIONS)})" for key in document
                if key not in SECTIONS]

    def texts(where: str, value: Any) -> None:
        if not isinstance(value, dict) or not value:
            problems.append(f"{where} must be an object of language → text, like {{\"en\": \"...\"}}")
            return
        for language, text in value.items():
            if not isinstance(text, str) or not text.strip():
                problems.append(f"{where}.{language} must be a non-empty text")

    def named(where: str, value: Any) -> None:
        if not isinstance(value, dict):
            problems.append(f"{where} must be an object")
            return
        for name, texts_of in value.items():
            texts(f"{where}.{name}", texts_of)

    if "process" in document:
        texts("process", document["process"])
    for section in ("elements", "fields", "words"):
        if section in document:
            named(section, document[section])
    if "values" in document:
        if not isinstance(document["values"], dict):
            problems.append("values must be an object")
        else:
            for key, coded in document["values"].items():
                named(f"values.{key}", coded)
    return problems


NAMED = ("lane", "userTask", "task", "manualTask")


def _named_elements(files: Mapping[str, Any]) -> dict[str, str]:
    """Name → id of the version's lanes and user tasks (the first of a name wins): what pages hold
    only by name (an open task's lane, a notice's task) finds its labels."""
    named: dict[str, str] = {}
    for name, text in sorted(files.items()):
        if not is_bpmn_file(name) or not isinstance(text, str | bytes):
            continue
        tree, _ = parse_xml(text.encode() if isinstance(text, str) else text, name)
        if tree is None:
            continue
        for element in tree.getroot().iter(*(f"{{{BPMN_NS}}}{kind}" for kind in NAMED)):
            if element.get("name") and element.get("id"):
                named.setdefault(str(element.get("name")).strip(), str(element.get("id")))
    return named


_cache: dict[tuple[int, str], Labels] = {}
_lock = threading.Lock()


def labels_of(version_row: VersionRow | None) -> Labels:
    """The labels deployed with ``version_row`` (no labels when it has none or they are unreadable)."""
    if version_row is None:
        return NONE
    key = (version_row.id, version_row.hash)
    found = _cache.get(key)
    if found is not None:
        return found
    text = version_row.files.get(FILE)
    labels = NONE
    if isinstance(text, str | bytes):
        try:
            labels = Labels.parse(text)
        except ValueError:
            labels = NONE
    if labels.elements:
        labels = replace(labels, named=_named_elements(version_row.files))
    with _lock:
        _cache[key] = labels
    return labels
