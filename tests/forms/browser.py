"""A very small browser for the tests: reads a rendered form and posts it as a browser would.

It knows what a browser sends: text inputs and selects always, checkboxes and radios
only when checked, the one submit button pressed, never the contents of a ``<template>``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from html.parser import HTMLParser

VOID = {"input", "br", "img", "meta", "link", "hr"}


@dataclass
class Element:
    tag: str
    attrs: dict[str, str | None]
    in_template: bool
    text: str = ""
    options: list[Element] = field(default_factory=list)

    def get(self, name: str) -> str | None:
        return self.attrs.get(name)

    def has(self, name: str) -> bool:
        return name in self.attrs


class Page(HTMLParser):
    """Every element of a page, in order, with the text inside it."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[Element] = []
        self._open: list[Element] = []
        self._templates = 0
        self._select: Element | None = None
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, dict(attrs), self._templates > 0)
        self.elements.append(element)
        if tag == "template":
            self._templates += 1
        if tag == "select":
            self._select = element
        if tag == "option" and self._select is not None:
            self._select.options.append(element)
        if tag not in VOID:
            self._open.append(element)

    def handle_endtag(self, tag: str) -> None:
        if tag == "template":
            self._templates -= 1
        if tag == "select":
            self._select = None
        for index in range(len(self._open) - 1, -1, -1):
            if self._open[index].tag == tag:
                del self._open[index:]
                break

    def handle_data(self, data: str) -> None:
        for element in self._open:
            element.text += data

    # -- questions the tests ask

    def live(self) -> list[Element]:
        """The elements a user sees (not the blank row kept for the script)."""
        return [e for e in self.elements if not e.in_template]

    def find(self, tag: str | None = None, **attrs: str) -> list[Element]:
        wanted = {key.rstrip("_").replace("_", "-"): value for key, value in attrs.items()}
        return [
            e for e in self.live() if (tag is None or e.tag == tag) and all(e.get(k) == v for k, v in wanted.items())
        ]

    def one(self, tag: str | None = None, **attrs: str) -> Element:
        found = self.find(tag, **attrs)
        assert len(found) == 1, f"{len(found)} elements {tag} {attrs}"
        return found[0]

    def by_id(self, id_: str) -> Element:
        return self.one(id=id_)

    def label_of(self, control: Element) -> str:
        """The text of the ``<label for>`` of a control (or the legend of its fieldset, for a group of radios)."""
        labels = [e for e in self.live() if e.tag == "label" and e.get("for") == control.get("id")]
        assert len(labels) == 1, f"{len(labels)} labels for {control.attrs}"
        return " ".join(labels[0].text.split())

    def controls(self) -> list[Element]:
        """Inputs a user fills in: everything but hidden inputs and buttons."""
        return [
            e
            for e in self.live()
            if e.tag in ("select", "textarea") or (e.tag == "input" and e.get("type") not in ("hidden", "submit"))
        ]

    def value_of(self, name: str) -> str | list[str] | None:
        """What the control named ``name`` shows: its text, the checked values, the selected option."""
        found = [e for e in self.live() if e.get("name") == name and e.tag in ("input", "select", "textarea")]
        if not found:
            return None
        first = found[0]
        if first.tag == "textarea":
            return first.text.removeprefix("\n")
        if first.tag == "select":
            return next((o.get("value") or "" for o in first.options if o.has("selected")), "")
        if first.get("type") in ("checkbox", "radio"):
            return [e.get("value") or "on" for e in found if e.has("checked")]
        return first.get("value") or ""

    def post(
        self, fill: Mapping[str, str | list[str]] | None = None, press: tuple[str, str] = ("action", "submit")
    ) -> dict[str, list[str]]:
        """The multi-dict a browser posts after the user typed ``fill`` and pressed one button.

        ``fill`` gives a text for an input, select or textarea, or the values to tick of
        checkboxes and radios (anything not named keeps what the page shows).
        """
        fill = dict(fill or {})
        posted: dict[str, list[str]] = {}
        for e in self.live():
            name = e.get("name")
            if not name or e.tag not in ("input", "select", "textarea", "button"):
                continue
            kind = e.get("type") or ("submit" if e.tag == "button" else "text")
            if kind == "submit" or e.tag == "button":
                if (name, e.get("value") or "") == press:
                    posted.setdefault(name, []).append(e.get("value") or "")
                continue
            if kind == "file":
                continue
            if kind in ("checkbox", "radio"):
                ticked = fill.get(name)
                chosen = (
                    e.has("checked")
                    if ticked is None
                    else (e.get("value") or "on") in ([ticked] if isinstance(ticked, str) else ticked)
                )
                if chosen:
                    posted.setdefault(name, []).append(e.get("value") or "on")
                continue
            value = fill.get(name)
            if value is None:
                value = self.value_of(name) if e.tag != "input" else (e.get("value") or "")
            posted.setdefault(name, []).append(value if isinstance(value, str) else ",".join(value or []))
        return posted
