"""Server-rendered pages for staff, often on a phone, one module per feature; every form posts
with the session's CSRF token. This module puts them together."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI

from api.web import (
    absences,
    audit,
    cases,
    common,
    field_directive,
    indicators,
    interests,
    login,
    notifications,
    persons,
    processes,
    records,
    register_pages,
    registers,
    remarks,
    schedule,
    work,
)

router = APIRouter(include_in_schema=False)
for _feature in (login, work, cases, notifications, registers, processes, audit, absences, schedule, remarks,
                 interests, indicators, records, field_directive, register_pages, persons):
    router.include_router(_feature.router)


def mount_static(app: FastAPI) -> None:
    common.mount_static(app)
