"""forms knows nothing of the database, the engine, the API or the web framework."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import forms

FORMS = Path(forms.__file__).resolve().parent
FORBIDDEN = {"engine", "api", "sqlalchemy", "fastapi", "starlette"}


def imported_by(path: Path) -> set[str]:
    """The top-level packages a module of forms imports (relative imports are forms itself)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            called = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            if called in ("import_module", "__import__") and isinstance(node.args[0].value, str):
                names.add(node.args[0].value.split(".")[0])
    return names


def test_forms_imports_none_of_engine_api_sqlalchemy_fastapi_or_starlette() -> None:
    modules = sorted(FORMS.rglob("*.py"))
    assert {path.name for path in modules} >= {"__init__.py", "definition.py", "validation.py", "submission.py", "render.py"}
    offending = {str(path.relative_to(FORMS)): sorted(imported_by(path) & FORBIDDEN) for path in modules}
    assert {module: names for module, names in offending.items() if names} == {}


def test_importing_forms_loads_none_of_them_either() -> None:
    code = "import json, sys, forms; print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))"
    loaded = json.loads(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)
    assert FORBIDDEN.isdisjoint(loaded)


def test_forms_offers_exactly_its_public_names() -> None:
    public = "Choice Field FieldError Form FormError Submission UploadedFile WidgetKind parse_submission render_form validate"
    assert sorted(forms.__all__) == public.split()
    assert all(hasattr(forms, name) for name in forms.__all__)
