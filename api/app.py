"""The web application: JSON API under ``/api`` and server-rendered pages."""

from __future__ import annotations

from html import escape

from fastapi import FastAPI
from fastapi.responses import HTMLResponse

from engine import definitions
from engine.config import get_settings
from engine.db import Database


def create_app(database: Database | None = None) -> FastAPI:
    database = database or Database(get_settings().database_url)
    app = FastAPI(title="cityflow", openapi_url="/api/openapi.json", docs_url="/api/docs", redoc_url=None)

    @app.get("/api/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/", response_class=HTMLResponse)
    def home() -> str:
        with database.unit_of_work() as session:
            rows = [(v.key, v.name, v.version) for v in definitions.latest_versions(session)]
        items = "".join(
            f"<li>{escape(name)} <small>({escape(key)} v{version})</small></li>" for key, name, version in rows
        )
        return (
            "<!doctype html><html lang=ko><meta charset=utf-8>"
            "<meta name=viewport content='width=device-width,initial-scale=1'>"
            f"<title>cityflow</title><h1>cityflow</h1><p>배포된 업무 절차</p><ul>{items}</ul></html>"
        )

    return app

