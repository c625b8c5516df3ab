"""Forms of user tasks: a JSON Schema with UI hints, shown as HTML and checked on submission.

    form = Form.from_document(document)                 # FormError if it is no usable form
    html = render_form(form, action=url, csrf_token=token)
    submission = parse_submission(form, posted_fields, posted_files)
    errors = validate(form, submission.data)            # [] or FieldError(field="items[1].qty", ...)
    html = render_form(form, submission.data, errors, action=url, csrf_token=token)

This package knows nothing of the database, the engine or the web framework.
"""

from forms.definition import Choice, Field, Form, FormError, WidgetKind
from forms.render import render_form
from forms.submission import Submission, UploadedFile, parse_submission
from forms.validation import FieldError, validate

__all__ = [
    "Choice",
    "Field",
    "FieldError",
    "Form",
    "FormError",
    "Submission",
    "UploadedFile",
    "WidgetKind",
    "parse_submission",
    "render_form",
    "validate",
]
