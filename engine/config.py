"""Settings, read once from the environment (prefix ``CITYFLOW_``).

Secrets are never defaults: when ``CITYFLOW_SECRET_KEY`` or ``CITYFLOW_AUDIT_KEY``
is not set, a random key is generated once into ``var/`` and reused.

Audit keys have ids and rotate: ``CITYFLOW_AUDIT_KEYS`` (``1:secret,2:secret``) or
``CITYFLOW_AUDIT_KEY`` (key 1) in the environment, else the files ``var/audit-<id>.key``
(``var/audit.key``, as written before keys had ids, is key 1). The highest id keys what is
written now; records and checkpoints written under an older key verify with it. Each
checkpoint of the trail also goes to the anchor log outside the database
(``CITYFLOW_AUDIT_ANCHORS``, ``var/audit-anchors.jsonl`` by default) and, when
``CITYFLOW_AUDIT_ANCHOR_SYSLOG`` names a syslog (``1`` for the machine's, a socket path or
``host:port``), to syslog too; the worker writes one every ``CITYFLOW_AUDIT_CHECKPOINT_SECONDS``.

The city's time zone (``CITYFLOW_TIMEZONE``) and its own days off
(``CITYFLOW_EXTRA_HOLIDAYS``, ISO dates separated by commas) are checked here, so a
misspelt zone or date stops the program at start, naming the value.

A map is drawn only when a tile server is named (``CITYFLOW_MAP_TILES``, a URL with
``{z}``, ``{x}`` and ``{y}``); pages then load images from that server's origin and no other.
``CITYFLOW_MAP_CENTER`` is where a map opens when no point is given yet: the city hall.
"""

from __future__ import annotations

import re
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
    audit_key: str | None = None  # audit key 1
    audit_keys: Annotated[dict[int, str], NoDecode] = {}  # "1:secret,2:secret": every audit key by id
    audit_anchors: Path | None = None  # the anchor log; var/audit-anchors.jsonl when not set
    audit_anchor_syslog: str | None = None  # also to syslog: "1" (the machine's), a socket path or host:port
    audit_checkpoint_seconds: int = 60  # how often the worker checkpoints (and anchors) the trail
    script_time_limit: float = 1.0
    script_processes: int = 2  # processes that run scripts under the operating system's limits
    script_memory_mb: int = 256  # memory a script process may take beyond what it starts with
    max_data_bytes: int = 1024 * 1024  # how much data a case may hold (as JSON); a step leaving more is not kept
    attachment_max_bytes: int = 10 * 1024 * 1024
    max_body_bytes: int = 2 * 1024 * 1024  # a JSON or form body; larger is refused (413) before it is parsed
    max_upload_bytes: int | None = None  # a multipart body; default: six attachments and a megabyte of fields
    allowed_origins: Annotated[tuple[str, ...], NoDecode] = ()  # other sites whose pages may post here
    metrics_token: str | None = None  # a scraper's bearer token for /metrics; without it only this machine reads them
    log_config: Path | None = None  # a logging file (dictConfig .json/.yaml or fileConfig .ini); api/logging.json else

    @field_validator("allowed_origins", mode="before")
    @classmethod
    def _origins(cls, value: Any) -> Any:
        return tuple(part.strip() for part in value.split(",") if part.strip()) if isinstance(value, str) else value

    @property
    def upload_limit(self) -> int:
        return self.max_upload_bytes or 6 * self.attachment_max_bytes + 1024 * 1024
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
    open311_jurisdiction: str = "suwon.go.kr"  # the jurisdiction_id Open311 clients name (GeoReport v2)

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

    @field_validator("audit_keys", mode="before")
    @classmethod
    def _audit_keys(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        keys: dict[int, str] = {}
        for pair in (part.strip() for part in value.split(",")):
            if not pair:
                continue
            key_id, _, secret = pair.partition(":")
            if not re.fullmatch(r"[1-9][0-9]{0,5}", key_id.strip()) or not secret.strip():
                raise ValueError("CITYFLOW_AUDIT_KEYS: each key is written id:secret (an id from 1, a secret "
                                 "without commas), e.g. '1:3f9c…,2:77ab…'")
            if int(key_id) in keys:
                raise ValueError(f"CITYFLOW_AUDIT_KEYS names key {int(key_id)} twice")
            keys[int(key_id)] = secret.strip()
        return keys

    @field_validator("audit_checkpoint_seconds")
    @classmethod
    def _checkpoint_interval(cls, value: int) -> int:
        if not 1 <= value <= 3600:
            raise ValueError(f"CITYFLOW_AUDIT_CHECKPOINT_SECONDS={value} is not between 1 and 3600 seconds")
        return value

    @property
    def audit_anchor_log(self) -> Path:
        """Where checkpoints are anchored outside the database."""
        return self.audit_anchors or self.var_dir / "audit-anchors.jsonl"

    def audit_key_set(self) -> dict[int, bytes]:
        """Every audit key by id (the highest writes). From the environment when it names any
        (``CITYFLOW_AUDIT_KEYS``, ``CITYFLOW_AUDIT_KEY`` as key 1), else from ``var/audit-<id>.key``
        files (``var/audit.key`` is key 1); with neither, key 1 is generated into ``var/``."""
        keys = {key_id: secret.encode() for key_id, secret in self.audit_keys.items()}
        if self.audit_key:
            if keys.get(1, self.audit_key.encode()) != self.audit_key.encode():
                raise ValueError("CITYFLOW_AUDIT_KEY is key 1, and CITYFLOW_AUDIT_KEYS gives another key 1")
            keys[1] = self.audit_key.encode()
        if keys:
            return keys
        files = {int(path.stem.removeprefix("audit-")): path for path in self.var_dir.glob("audit-*.key")
                 if re.fullmatch(r"audit-[1-9][0-9]{0,5}", path.stem)}
        legacy = self.var_dir / "audit.key"
        if legacy.exists():
            if 1 in files and files[1].read_text().strip() != legacy.read_text().strip():
                raise ValueError(f"{legacy} and {files[1]} are both audit key 1 but differ: keep the one "
                                 "that signed the trail")
            files[1] = legacy
        if not files:
            files[1] = self.var_dir / "audit-1.key"
            _generate(files[1])
        return {key_id: path.read_text().strip().encode() for key_id, path in files.items()}

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def attachments_dir(self) -> Path:
        return self.var_dir / "attachments"

    def key(self, name: str) -> bytes:
        """The named secret (``secret``, or ``audit``: the audit key that writes now): from the
        environment, else ``var/<name>.key``."""
        if name == "audit":
            keys = self.audit_key_set()
            return keys[max(keys)]
        if self.secret_key:
            return self.secret_key.encode()
        path = self.var_dir / f"{name}.key"
        if not path.exists():
            _generate(path)
        return path.read_text().strip().encode()


def _generate(path: Path) -> None:
    """A new random secret, readable by its owner only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(secrets.token_hex(32))
    path.chmod(0o600)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
