"""Korean by default, English too: gettext catalogues (Babel ``.po`` files) chosen per request.

The language is, in order: ``?lang=``, the ``cityflow_lang`` cookie, the user's own setting,
the browser's Accept-Language, then Korean.
"""

from __future__ import annotations

import functools
import gettext
import io
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from starlette.requests import Request

LOCALES = ("ko", "en")
DEFAULT = "ko"
LANGUAGE_COOKIE = "cityflow_lang"
CATALOGUES = Path(__file__).resolve().parent / "locale"


@functools.cache
def translations(locale: str) -> gettext.NullTranslations:
    """The compiled catalogue of ``locale`` (compiled from its ``.po`` once per process)."""
    path = CATALOGUES / locale / "LC_MESSAGES" / "messages.po"
    if not path.exists():
        return gettext.NullTranslations()
    with path.open("rb") as source:
        catalog = read_po(source, locale=locale)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)


def _accepted(header: str) -> list[str]:
    weighted = []
    for part in header.split(","):
        tag, _, q = part.strip().partition(";q=")
        try:
            weight = float(q) if q else 1.0
        except ValueError:
            weight = 0.0
        weighted.append((weight, tag.strip().lower()[:2]))
    return [tag for weight, tag in sorted(weighted, key=lambda w: -w[0]) if weight > 0]


def choose(request: Request, user_locale: str | None = None) -> str:
    for candidate in (request.query_params.get("lang"), request.cookies.get(LANGUAGE_COOKIE), user_locale):
        if candidate in LOCALES:
            return candidate
    for tag in _accepted(request.headers.get("accept-language", "")):
        if tag in LOCALES:
            return tag
    return DEFAULT
