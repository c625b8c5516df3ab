"""How the engine's commands judge submitted data: the forms package's validation, in the
submitter's language, with the people and departments chosen on the form filled in and checked
from the organisation. Handed to the engine through ``EngineContext.form_check``, so the engine
validates in its one place without knowing the forms package."""

from __future__ import annotations

from typing import Any

from engine.context import FormChecked
from engine.identity import Directory
from forms.definition import Form
from forms.organisation import normalize
from forms.validation import in_form_order, validate


def check_form(document: dict[str, Any], data: dict[str, Any], locale: str, organisation: Directory) -> FormChecked:
    """``data`` as the form ``document`` keeps it, and every field it does not accept, with why."""
    form = Form.from_document(document)
    kept, unknown = normalize(form, data, organisation, locale=locale)
    named = {error.field for error in unknown}
    errors = in_form_order(form, [*unknown, *(e for e in validate(form, kept, locale=locale) if e.field not in named)])
    return FormChecked(kept, [(error.field, error.message) for error in errors])
