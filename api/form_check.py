"""How the engine's commands judge a task's submitted data: the forms package's validation, in
the submitter's language. Handed to the engine through ``EngineContext.form_check``, so the engine
validates in its one place without knowing the forms package."""

from __future__ import annotations

from typing import Any

from forms.definition import Form
from forms.validation import validate


def check_form(document: dict[str, Any], data: dict[str, Any], locale: str) -> list[tuple[str, str]]:
    """Every field of ``data`` that the form ``document`` does not accept, with why."""
    return [(error.field, error.message) for error in validate(Form.from_document(document), data, locale=locale)]
