"""The field report form (현장행정) used across these tests: photo, location, category, text, yes/no, action rows."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from forms import Form

FIELD_REPORT = Path(__file__).with_name("field_report.json")


@pytest.fixture
def field_report_document() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(FIELD_REPORT.read_text(encoding="utf-8"))
    return document


@pytest.fixture
def field_report(field_report_document: dict[str, Any]) -> Form:
    return Form.from_document(field_report_document)
