"""Messages from outside, notifications for people, incidents for admins."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from api.deps import Anyone, Reader, RowId, ServicesDep, SessionDep, Staff
from engine import commands, notifications, worker

router = APIRouter(prefix="/api", tags=["events"])


class MessageIn(BaseModel):
    name: str = Field(min_length=1, max_length=500)
    correlation: dict[str, Any] = {}
    payload: dict[str, Any] | None = None


class MessageOut(BaseModel):
    name: str
    delivered: list[str]
    started: list[str]


class NotificationOut(BaseModel):
    id: int
    title: str
    body: str
    link: str | None
    instance_id: str | None
    created_at: datetime
    read_at: datetime | None


class NotificationsOut(BaseModel):
    unread: int
    items: list[NotificationOut]


class IncidentOut(BaseModel):
    id: int
    instance_id: str
    task_id: str
    element_id: str
    handler: str
    attempts: int
    last_error: str | None
    created_at: datetime


@router.post("/messages", status_code=202, response_model=MessageOut)
def send_message(body: MessageIn, principal: Staff, session: SessionDep, services: ServicesDep) -> MessageOut:
    """Deliver a message to the instances it correlates with (or start the process it starts), where
    their process accepts it from the caller (403 otherwise); an empty correlation is refused (422);
    404 ``MessageUnmatched`` when nothing takes it — which is recorded."""
    delivery = commands.send_message(session, services.ctx, principal, body.name, body.correlation, body.payload)
    return MessageOut(name=body.name, delivered=delivery.delivered, started=delivery.started)


@router.get("/notifications", response_model=NotificationsOut)
def my_notifications(principal: Anyone, session: SessionDep) -> NotificationsOut:
    rows = notifications.recent(session, principal.username)
    return NotificationsOut(
        unread=notifications.unread_count(session, principal.username),
        items=[NotificationOut.model_validate(n, from_attributes=True) for n in rows],
    )


@router.post("/notifications/{notification_id}/read", response_model=NotificationOut)
def read_notification(
    notification_id: RowId, principal: Anyone, session: SessionDep, services: ServicesDep
) -> NotificationOut:
    row = notifications.mark_read(session, principal.username, notification_id, services.ctx.clock())
    return NotificationOut.model_validate(row, from_attributes=True)


@router.get("/incidents", response_model=list[IncidentOut])
def list_incidents(principal: Reader, session: SessionDep, instance_id: str | None = None) -> list[IncidentOut]:
    """Service tasks whose handler failed on every try."""
    return [IncidentOut.model_validate(j, from_attributes=True) for j in worker.incidents(session, instance_id)]


@router.post("/incidents/{job_id}/retry", response_model=IncidentOut)
def retry_incident(job_id: RowId, principal: Staff, session: SessionDep, services: ServicesDep) -> IncidentOut:
    """Try the handler again (admins), after whatever made it fail was fixed."""
    job = commands.retry_incident(session, services.ctx, principal, job_id)
    return IncidentOut.model_validate(job, from_attributes=True)
