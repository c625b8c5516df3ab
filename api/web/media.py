"""Photos and places as pages show them: a photo as its thumbnail (a tap opens the picture), any
other file by its name; a place as its address and coordinates, with a small map drawn by
``static/map.js`` when a tile server is configured (``CITYFLOW_MAP_TILES``).

For the pages and the case views: ``photo_html("attachment:12", files, locale)`` with the case's
files (``engine.attachments.attachments_of``) — a reference to a file of another case shows as
missing, never as that file — and ``place_html({"lat": …, "lon": …, "address": …}, locale)``.
Both return Markup; every text in them is escaped.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from typing import Any

from markupsafe import Markup, escape

from api.web.i18n import translations
from engine.models import Attachment
from forms.render import AttachedFile

_REFERENCE = re.compile(r"^attachment:(\d{1,18})$")


def attachment_id(value: object) -> int | None:
    """The id in a reference such as ``attachment:12``; None for anything else."""
    match = _REFERENCE.match(value) if isinstance(value, str) else None
    return int(match.group(1)) if match else None


def is_place(value: object) -> bool:
    """A location value of a form: an object with a latitude and longitude, or at least an address."""
    return isinstance(value, Mapping) and (_coordinates(value) is not None or _address(value) is not None) and set(
        value
    ) <= {"lat", "lon", "address"}


def photo_html(value: object, files: Mapping[int, Attachment] | Iterable[Attachment], locale: str) -> Markup:
    """A reference (or a list of them) as thumbnails linking to the pictures, or as file names to download.

    ``files`` are the case's own, as a list or by id.
    """
    references = value if isinstance(value, list) else [value]
    by_id = dict(files) if isinstance(files, Mapping) else {file.id: file for file in files}
    shown = [_one_file(reference, by_id, locale) for reference in references]
    return Markup('<span class="cf-photos">{}</span>').format(Markup(" ").join(shown))


def file_html(file: Attachment, locale: str) -> Markup:
    """One file of a case: a verified image as its thumbnail linking to the picture, else its name."""
    if file.verified_image:
        return Markup(
            '<a class="cf-photo" href="/api/attachments/{id}/inline" title="{name}">'
            '<img src="/api/attachments/{id}/thumbnail" alt="{name}" loading="lazy"></a>'
        ).format(id=file.id, name=file.filename)
    gettext = translations(locale).gettext
    return Markup('<a class="cf-file" href="/api/attachments/{id}" download title="{hint}">{name}</a>').format(
        id=file.id, name=file.filename, hint=gettext("Download")
    )


def attached_files(files: Iterable[Attachment]) -> dict[str, AttachedFile]:
    """The case's files as a form names the ones it keeps (``render_form(..., attached=...)``)."""
    return {
        f"attachment:{file.id}": AttachedFile(
            file.filename, f"/api/attachments/{file.id}/thumbnail" if file.verified_image else None
        )
        for file in files
    }


def _one_file(reference: object, by_id: Mapping[int, Attachment], locale: str) -> Markup:
    number = attachment_id(reference)
    file = by_id.get(number) if number is not None else None
    if file is None:
        return Markup('<span class="cf-missing">{}</span>').format(translations(locale).gettext("File not found"))
    return file_html(file, locale)


def place_html(value: object, locale: str, *, with_map: bool = True) -> Markup:
    """A place as people read it: "수원시 팔달구 효원로 241 (37.2636, 127.0286)", and a map where one is drawn
    (``with_map=False``: the words alone, say in a line of the history)."""
    if not isinstance(value, Mapping):
        return Markup("—") if value in (None, "") else escape(str(value))
    gettext = translations(locale).gettext
    address, point = _address(value), _coordinates(value)
    if point is None:
        return Markup('<span class="cf-place">{}</span>').format(address or "—")
    lat, lon = point
    coordinates = Markup('<span class="cf-coords" title="{title}">({lat:.4f}, {lon:.4f})</span>').format(
        title=gettext("Latitude, longitude"), lat=lat, lon=lon
    )
    text = Markup("{} {}").format(address, coordinates) if address else coordinates
    if not with_map:
        return Markup('<span class="cf-place">{}</span>').format(text)
    # map.js draws the map into this box, only on a page whose server names a tile server
    box = Markup('<span class="cf-map" data-cf-map data-lat="{lat}" data-lon="{lon}" role="img" aria-label="{label}"'
                 " hidden></span>").format(lat=lat, lon=lon, label=gettext("Map of %(place)s") % {
                     "place": address or f"{lat:.4f}, {lon:.4f}"})
    return Markup('<span class="cf-place">{}{}</span>').format(text, box)


def _address(value: Mapping[str, Any]) -> str | None:
    address = value.get("address")
    return address.strip() if isinstance(address, str) and address.strip() else None


def _coordinates(value: Mapping[str, Any]) -> tuple[float, float] | None:
    lat, lon = value.get("lat"), value.get("lon")
    if not (_is_number(lat) and _is_number(lon)):
        return None
    assert isinstance(lat, int | float)
    assert isinstance(lon, int | float)
    if not (math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 180):
        return None
    return float(lat), float(lon)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
