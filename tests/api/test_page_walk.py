"""Every page a staff member can reach in the demo city hall reads as people write: walked link by link
as the mayor, a department's staff, its head and an auditor, no page shows a raw data key, ``None``,
``True``/``False``, a ``\\u`` escape, or a login name where a person's name belongs."""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urldefrag, urlsplit

import lxml.html
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from api.app import create_app
from engine.attachments import BlobStore
from engine.config import Settings
from engine.context import EngineContext
from engine.db import Database
from engine.demo import seed_instances
from engine.models import Instance, User
from engine.worker import Worker
from tests.api.conftest import seed
from tests.api.test_pages import log_in

WALKERS = ["mayor", "roads.staff", "roads.chief", "auditor"]
PAGES_PER_WALKER = 300
SAMPLES_PER_KIND = 4  # pages of one kind (a case, a task, a register's filter) read per walker
ID = re.compile(r"/[0-9a-f]{8}-[0-9a-f-]{27}|/[0-9]+(?=/|$)")
# Links that change something, leave the pages or are files, not pages.
NOT_PAGES = re.compile(r"^/(logout|api/|static/)|/(download|inline|thumbnail|document\.pdf|export\.\w+)\b|\.(svg|pdf|png|jpe?g)$")
RAW_WORDS = re.compile(r"\b(None|True|False|null|undefined)\b|\\u[0-9a-fA-F]{4}")


@pytest.fixture
def demo_city(database: Database, tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(var_dir=tmp_path / "var", audit_key="test-audit-key", secret_key="test-secret")
    ctx = EngineContext.create()
    seed(database)
    with database.unit_of_work() as session:
        seed_instances(session, ctx, BlobStore(settings.attachments_dir), lambda: None)
    Worker(database, ctx, settings).drain()
    with TestClient(create_app(settings, database, ctx)) as client:
        yield client


def _keys(value: Any, found: set[str]) -> set[str]:
    """Every key of the data, nested ones too."""
    if isinstance(value, dict):
        for key, inner in value.items():
            found.add(str(key))
            _keys(inner, found)
    elif isinstance(value, list):
        for inner in value:
            _keys(inner, found)
    return found


def _visible_text(html: str) -> str:
    """What a person reads: text, not markup, scripts, styles or hidden inputs."""
    tree = lxml.html.fromstring(html)
    for hidden in tree.xpath("//script | //style | //template | //*[@hidden] | //*[contains(@class, 'cf-raw-data')]"):
        hidden.drop_tree()
    return " ".join(tree.text_content().split())


def _links(html: str) -> list[str]:
    tree = lxml.html.fromstring(html)
    found = []
    for href in tree.xpath("//a/@href"):
        target = urldefrag(str(href))[0]
        parts = urlsplit(target)
        if parts.scheme or parts.netloc or not parts.path.startswith("/") or NOT_PAGES.search(parts.path):
            continue
        found.append(target)
    return found


def _walk(client: TestClient, start: str = "/") -> dict[str, str]:
    """Each page reachable from ``start`` by following links, with its visible text."""
    seen: dict[str, str] = {}
    kinds: dict[str, int] = {}
    queue = deque([(start, "")])
    while queue and len(seen) < PAGES_PER_WALKER:
        url, linked_from = queue.popleft()
        if url in seen:
            continue
        parts = urlsplit(url)
        kind = ID.sub("/{id}", parts.path) + "?" + ",".join(sorted(k.split("=")[0] for k in parts.query.split("&")))
        kinds[kind] = kinds.get(kind, 0) + 1
        if kinds[kind] > SAMPLES_PER_KIND:
            continue
        answer = client.get(url)
        assert answer.status_code == 200, f"{url}, linked from {linked_from}, answered {answer.status_code}"
        if not answer.headers.get("content-type", "").startswith("text/html"):
            seen[url] = ""
            continue
        seen[url] = _visible_text(answer.text)
        queue.extend((link, url) for link in _links(answer.text) if link not in seen)
    return seen


def test_no_page_a_person_reaches_shows_keys_none_escapes_or_login_names(
    demo_city: TestClient, database: Database
) -> None:
    with database.unit_of_work() as session:
        usernames = set(session.execute(select(User.username)).scalars())
        keys: set[str] = set()
        for data in session.execute(select(Instance.data)).scalars():
            _keys(data, keys)
    # A data key is raw when it reads as code (snake_case); plain words like "title" may be in a sentence.
    raw_keys = {key for key in keys if "_" in key}
    login_names = re.compile(r"(?<![\w.@-])(" + "|".join(map(re.escape, sorted(usernames, key=len, reverse=True)))
                             + r")(?![\w@-]|\.\w)")
    raw_key = re.compile(r"(?<!\w)(" + "|".join(map(re.escape, sorted(raw_keys, key=len, reverse=True))) + r")(?!\w)")
    problems: list[str] = []
    walked = 0
    for walker in WALKERS:
        demo_city.cookies.clear()
        assert log_in(demo_city, walker).status_code == 303  # type: ignore[attr-defined]
        pages = _walk(demo_city)
        walked += len(pages)
        assert len(pages) < PAGES_PER_WALKER, "the walk did not end: raise PAGES_PER_WALKER"
        for url, text in pages.items():
            for pattern, what in ((RAW_WORDS, "raw value"), (login_names, "login name"), (raw_key, "data key")):
                for match in pattern.finditer(text):
                    around = text[max(0, match.start() - 40):match.end() + 40]
                    problems.append(f"{walker} {url}: {what} {match.group(0)!r} in …{around}…")
    assert walked > 100, f"only {walked} pages walked: the demo city should be bigger"
    assert not problems, f"{len(problems)} problems, first ones:\n" + "\n".join(problems[:40])
