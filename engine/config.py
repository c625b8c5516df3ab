"""Settings, read once from the environment (prefix ``CITYFLOW_``).

Secrets are never defaults: when ``CITYFLOW_SECRET_KEY`` or ``CITYFLOW_AUDIT_KEY``
is not set, a random key is generated once into ``var/`` and reused.
"""

from __future__ import annotations

import secrets
from functools import lru_cache
from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict


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
