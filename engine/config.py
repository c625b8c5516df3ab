"""Settings, read once from the environment (prefix ``CITYFLOW_``).

Secrets are never defaults: when ``CITYFLOW_SECRET_KEY`` or ``CITYFLOW_AUDIT_KEY``
is not set, a random key is generated once into ``var/`` and reused.

The city's time zone (``CITYFLOW_TIMEZONE``) and its own days off
(``CITYFLOW_EXTRA_HOLIDAYS``, ISO dates separated by commas) are checked here, so a
misspelt zone or date stops the program at start, naming the value.

A map is drawn only when a tile server is named (``CITYFLOW_MAP_TILES``, a URL with
``{z}``, ``{x}`` and ``{y}``); pages then load images from that server's origin and no other.
``CITYFLOW_MAP_CENTER`` is where a map opens when no point is given yet: the city hall.
"""

from __future__ import annotations

import secrets
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CITYFLOW_", extra="ignore")

    database_url: str = "sqlite:///var/cityflow.db"
    workflows_dir: Path = Path("workflows")
    var_dir: Path = Path("var")
    secret_key: str | None = None
    audit_key: str | None = None
    script_time_limit: float = 1.0
    attachment_max_bytes: int = 10 * 1024 * 1024
    secure_cookies: bool = False  # set true behind HTTPS
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_from: str = "cityflow@localhost"
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = False
    timezone: str = "Asia/Seoul"  # the city's: its working days and the dates people read
    extra_holidays: Annotated[tuple[date, ...], NoDecode] = ()  # the city's own days off
    map_tiles: str | None = None  # e.g. https://tiles.example/{z}/{x}/{y}.png; no map without it
    map_center: Annotated[tuple[float, float], NoDecode] = (37.2636, 127.0286)  # lat, lon of the city hall
    map_attribution: str = ""  # what the tile server asks to be written on its maps, e.g. "© OpenStreetMap"

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
            raise ValueError(
                f"CITYFLOW_TIMEZONE={value!r} is not a known time zone; use an IANA name such as 'Asia/Seoul'"
            ) from exc
        return value

    @field_validator("extra_holidays", mode="before")
    @classmethod
    def _dates(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        days = []
        for text in (part.strip() for part in value.split(",")):
            if not text:
                continue
            try:
                days.append(date.fromisoformat(text))
            except ValueError as exc:
                raise ValueError(f"CITYFLOW_EXTRA_HOLIDAYS: {text!r} is not a date like 2026-10-15") from exc
        return tuple(days)

    @field_validator("map_tiles")
    @classmethod
    def _tile_template(cls, value: str | None) -> str | None:
        if not value:
            return None
        parts = urlsplit(value)
        marks = all(mark in value for mark in ("{z}", "{x}", "{y}"))
        if parts.scheme not in ("http", "https") or not parts.netloc or not marks:
            raise ValueError(
                f"CITYFLOW_MAP_TILES={value!r} is not a tile address like 'https://tiles.example/{{z}}/{{x}}/{{y}}.png'"
            )
        return value

    @field_validator("map_center", mode="before")
    @classmethod
    def _lat_lon(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        try:
            lat, lon = (float(part) for part in value.split(","))
        except ValueError as exc:
            raise ValueError(
                f"CITYFLOW_MAP_CENTER={value!r} is not a latitude and longitude like '37.2636,127.0286'"
            ) from exc
        if not (-85 <= lat <= 85 and -180 <= lon <= 180):
            raise ValueError(f"CITYFLOW_MAP_CENTER={value!r} is not a point on the map")
        return (lat, lon)

    @property
    def map_tiles_origin(self) -> str | None:
        """Where map tiles come from (``https://tiles.example``): the one other origin pages take images from."""
        if not self.map_tiles:
            return None
        parts = urlsplit(self.map_tiles)
        return f"{parts.scheme}://{parts.netloc}"

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def attachments_dir(self) -> Path:
        return self.var_dir / "attachments"

    def key(self, name: str) -> bytes:
        """The named secret (``secret`` or ``audit``): from the environment, else ``var/<name>.key``."""
        configured = self.secret_key if name == "secret" else self.audit_key
        if configured:
            return configured.encode()
        path = self.var_dir / f"{name}.key"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_hex(32))
            path.chmod(0o600)
        return path.read_text().strip().encode()


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
