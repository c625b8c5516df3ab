"""The layering of ARCHITECTURE.md, read from the source: data flows api → engine and api → forms only.

``engine`` knows nothing of the web (fastapi, starlette, jinja2) nor of ``api`` and ``forms``;
``forms`` knows nothing of ``engine``, ``api`` or the database. ``api`` may use both.
Every import counts: ``import a.b``, ``from a import b``, relative imports, imports inside
functions, and ``importlib.import_module("a.b")`` / ``__import__("a")`` with a literal name.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

FORBIDDEN = {
    "engine": {"fastapi", "starlette", "jinja2", "api", "forms"},
    "forms": {"engine", "api", "sqlalchemy"},
}


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_modules(source: str, module: str, is_package: bool = False) -> set[str]:
    """Every module ``source`` (the text of ``module``) imports, as absolute dotted names."""
    package = module.split(".") if is_package else module.split(".")[:-1]
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)] if node.level - 1 <= len(package) else []
                prefix = ".".join([*base, *(node.module.split(".") if node.module else [])])
            else:
                prefix = node.module or ""
            if prefix:
                found.add(prefix)
            # ``from x import y`` may import the module x.y (a sub-module rather than a name)
            found.update(f"{prefix}.{alias.name}" if prefix else alias.name for alias in node.names)
        elif isinstance(node, ast.Call) and (name := _dynamic_import(node)):
            found.add(name)
    return found


def _dynamic_import(call: ast.Call) -> str | None:
    """The literal module name of ``__import__("x")`` or ``importlib.import_module("x")``."""
    func = call.func
    named = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
    if named not in {"__import__", "import_module"} or not call.args:
        return None
    first = call.args[0]
    return first.value if isinstance(first, ast.Constant) and isinstance(first.value, str) else None


def top_level(module: str) -> str:
    return module.split(".", 1)[0]


def layer_violations(layer: str, root: Path = ROOT) -> list[str]:
    violations = []
    for path in sorted((root / layer).rglob("*.py")):
        module = module_name(path, root)
        imports = imported_modules(path.read_text(encoding="utf-8"), module, path.name == "__init__.py")
        for name in sorted(imports):
            if top_level(name) in FORBIDDEN[layer]:
                violations.append(f"{path.relative_to(root)} imports {name}")
    return violations


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_a_lower_layer_never_imports_a_layer_above_it(layer: str) -> None:
    assert (ROOT / layer / "__init__.py").is_file(), f"no package {layer}/"
    assert layer_violations(layer) == []


def test_the_engine_is_actually_read() -> None:
    engine_imports = {
        name
        for path in (ROOT / "engine").rglob("*.py")
        for name in imported_modules(path.read_text(encoding="utf-8"), module_name(path, ROOT))
    }
    # the scan sees the engine's real dependencies, so an empty result above means something
    assert {"sqlalchemy", "SpiffWorkflow"} <= {top_level(name) for name in engine_imports}
    assert "engine.audit" in engine_imports


def write_tree(root: Path, sources: dict[str, str]) -> None:
    for name, text in sources.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")


def test_the_import_reader_sees_every_form_of_import(tmp_path: Path) -> None:
    sources = {
        "engine/__init__.py": "",
        "engine/web/__init__.py": "from .. import audit\nimport api.app as application\n",
        "engine/web/pages.py": (
            "import json\n"
            "import fastapi.responses\n"
            "from ..forms import render\n"
            "from ...api import app\n"
            "from . import helpers\n"
            "def later():\n"
            "    from starlette import requests\n"
            "    import importlib\n"
            "    return importlib.import_module('jinja2.sandbox'), __import__('api.cli')\n"
        ),
        "forms/__init__.py": "from engine.audit import records as _records\n",
        "forms/render.py": "import sqlalchemy.orm as orm\nfrom . import widgets\n",
    }
    write_tree(tmp_path, sources)

    assert layer_violations("engine", tmp_path) == [
        "engine/web/__init__.py imports api.app",
        "engine/web/pages.py imports api",
        "engine/web/pages.py imports api.app",
        "engine/web/pages.py imports api.cli",
        "engine/web/pages.py imports fastapi.responses",
        "engine/web/pages.py imports jinja2.sandbox",
        "engine/web/pages.py imports starlette",
        "engine/web/pages.py imports starlette.requests",
    ]
    assert layer_violations("forms", tmp_path) == [
        "forms/__init__.py imports engine.audit",
        "forms/__init__.py imports engine.audit.records",
        "forms/render.py imports sqlalchemy.orm",
    ]


# -- the engine's surface ----------------------------------------------------------------------

ENGINE_SURFACE = [
    "access", "attachments", "audit", "bpmn_xml", "citytime", "commands", "config", "context", "db",
    "definitions", "demo", "errors", "external_tasks", "identity", "labels", "metrics", "migrate", "models", "notifications", "open311", "persons", "process", "records", "registry",
    "remarks",
    "schedule",
    "trail",
    "worker", "worklist",
]


def test_the_engine_states_what_the_api_may_use() -> None:
    import engine

    assert sorted(engine.__all__) == ENGINE_SURFACE
    assert all((ROOT / "engine" / f"{name}.py").is_file() for name in engine.__all__)


def test_the_api_uses_only_what_the_engine_offers() -> None:
    # In particular never engine.instances: every change of an instance goes through engine.commands.
    offered = set(ENGINE_SURFACE)
    reached = []
    for path in sorted((ROOT / "api").rglob("*.py")):
        for name in imported_modules(path.read_text(encoding="utf-8"), module_name(path, ROOT)):
            parts = name.split(".")
            if parts[0] == "engine" and len(parts) > 1 and parts[1] not in offered:
                reached.append(f"{path.relative_to(ROOT)} imports {name}")
    assert reached == []


def import_cycles(layer: str, root: Path = ROOT) -> list[list[str]]:
    """Cycles among a layer's modules, counting imports inside functions too (they hide cycles)."""
    graph: dict[str, set[str]] = {}
    for path in sorted((root / layer).rglob("*.py")):
        module = module_name(path, root)
        imports = imported_modules(path.read_text(encoding="utf-8"), module, path.name == "__init__.py")
        graph[module] = {name for name in imports if name.split(".")[0] == layer and name != layer}
    modules = set(graph)
    edges = {m: {n if n in modules else n.rsplit(".", 1)[0] for n in targets} & modules - {m}
             for m, targets in graph.items()}
    cycles: list[list[str]] = []
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges[node]):
            if state.get(nxt) == 1:
                cycles.append([*stack[stack.index(nxt):], nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            visit(node)
    return cycles


@pytest.mark.parametrize("layer", ["engine", "api", "forms"])
def test_no_module_imports_itself_round_about(layer: str) -> None:
    assert import_cycles(layer) == []


def test_the_cycle_reader_finds_a_cycle_hidden_in_a_function(tmp_path: Path) -> None:
    sources = {
        "engine/__init__.py": "",
        "engine/definitions.py": "from engine.handlers import known\n",
        "engine/handlers.py": "def later():\n    from engine.worklist import unopened\n",
        "engine/worklist.py": "from engine import instances\n",
        "engine/instances.py": "from engine.definitions import latest\n",
    }
    write_tree(tmp_path, sources)
    assert import_cycles("engine", tmp_path) == [
        ["engine.definitions", "engine.handlers", "engine.worklist", "engine.instances", "engine.definitions"]
    ]
