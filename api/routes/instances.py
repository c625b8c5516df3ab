"""Process instances: start, list, look at, draw, cancel; their trail, comments and attachments."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, UploadFile
from fastapi.responses import Response
from sqlalchemy.orm import Session

from api.deps import AnswerShape, AnswerShapeDep, Anyone, RowId, ServicesDep, SessionDep, Staff
from api.diagram import render_svg
from api.schemas import (
    AttachmentOut,
    CancelRequest,
    CommentOut,
    CommentRequest,
    InstanceBrief,
    InstanceOut,
    InstancePage,
    InstanceSummary,
    ShareRequest,
    StartRequest,
    instance_out,
    task_out,
)
from engine import attachments, audit, commands, definitions, worker, worklist
from engine.context import EngineContext
from engine.errors import NotFound
from engine.models import Instance

router = APIRouter(prefix="/api", tags=["instances"])

CaseAnswer = InstanceOut | InstanceBrief
"""What an action on a case answers: the whole case, or its brief (``case_answer``)."""


def instance_marks(session: Session, instance: Instance, now: datetime | None) -> dict[str, str]:
    """Completed, active and failed elements from the trail; open tasks past their due date overdue."""
    marks = audit.element_marks(session, instance.id)
    for task in worklist.tasks_of(session, instance.id):
        if task_out(task, now).overdue:
            marks[task.element_id] = "overdue"
    return marks


def instance_view(session: Session, instance: Instance, now: datetime | None = None,
                  ctx: EngineContext | None = None) -> InstanceOut:
    """An instance as the API shows it: its data, open tasks (overdue marked) and incidents. With the
    engine's context, its version number comes from the specs it keeps (no read)."""
    number = (ctx.bundles.get(session, instance.process_version_id).version if ctx is not None
              else definitions.version_of(session, instance.process_version_id).version)
    incidents = [
        {"id": j.id, "element_id": j.element_id, "handler": j.handler, "attempts": j.attempts, "error": j.last_error}
        for j in worker.incidents(session, instance.id)
    ]
    return instance_out(instance, number, worklist.tasks_of(session, instance.id),
                        incidents, now)


def case_answer(session: Session, instance: Instance, shape: AnswerShape, ctx: EngineContext) -> CaseAnswer:
    """A case after an action on it: whole, or in brief when the caller prefers (``Prefer: return=minimal``)."""
    now = ctx.clock()
    if not shape.brief:
        return instance_view(session, instance, now, ctx)
    shape.response.headers["Preference-Applied"] = "return=minimal"
    return InstanceBrief(id=instance.id, process_key=instance.process_key, status=instance.status,
                         business_key=instance.business_key, error=instance.error, ended_at=instance.ended_at,
                         tasks=[task_out(t, now) for t in worklist.tasks_of(session, instance.id)])


@router.post("/instances", status_code=201, response_model=CaseAnswer)
def start_instance(
    body: StartRequest, principal: Staff, session: SessionDep, services: ServicesDep, shape: AnswerShapeDep,
) -> CaseAnswer:
    """Start the newest version of a process; it runs until people or time must act. The whole case
    comes back, or its brief with ``Prefer: return=minimal``."""
    instance = commands.start(session, services.ctx, principal, body.process_key, body.data, body.business_key)
    return case_answer(session, instance, shape, services.ctx)


@router.get("/instances", response_model=InstancePage)
def list_instances(
    principal: Anyone,
    session: SessionDep,
    process_key: str | None = None,
    status: str | None = None,
    business_key: str | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: str | None = None,
) -> InstancePage:
    """Instances the caller may see, newest first."""
    rows, next_cursor = worklist.find_instances(
        session, principal, process_key=process_key, status=status, business_key=business_key,
        limit=limit, cursor=cursor,
    )
    return InstancePage(
        items=[InstanceSummary.model_validate(row, from_attributes=True) for row in rows], next_cursor=next_cursor
    )


@router.get("/instances/{instance_id}", response_model=InstanceOut)
def get_instance(instance_id: str, principal: Anyone, session: SessionDep) -> InstanceOut:
    return instance_view(session, worklist.instance_for(session, principal, instance_id))


@router.get(
    "/instances/{instance_id}/diagram.svg", response_class=Response,
    responses={200: {"content": {"image/svg+xml": {}}}},
)
def instance_diagram(instance_id: str, principal: Anyone, session: SessionDep, services: ServicesDep) -> Response:
    """The diagram with completed, active and failed elements marked."""
    instance = worklist.instance_for(session, principal, instance_id)
    version = definitions.version_of(session, instance.process_version_id)
    svg = render_svg(definitions.diagram_files(version), instance_marks(session, instance, services.ctx.clock()),
                     title=version.name)
    return Response(svg, media_type="image/svg+xml")


@router.post("/instances/{instance_id}/cancel", response_model=CaseAnswer)
def cancel_instance(
    instance_id: str, body: CancelRequest, principal: Staff, session: SessionDep, services: ServicesDep,
    shape: AnswerShapeDep,
) -> CaseAnswer:
    """Cancel an instance: its initiator or an admin."""
    instance = commands.cancel(session, services.ctx, principal, instance_id, body.reason)
    return case_answer(session, instance, shape, services.ctx)


@router.post("/instances/{instance_id}/retry", response_model=CaseAnswer)
def retry_instance(
    instance_id: str, principal: Staff, session: SessionDep, services: ServicesDep, shape: AnswerShapeDep,
) -> CaseAnswer:
    """Run an instance that stopped with an error again (admins), once its cause is fixed."""
    return case_answer(session, commands.retry(session, services.ctx, principal, instance_id), shape, services.ctx)


@router.patch("/instances/{instance_id}/data", response_model=CaseAnswer)
def edit_instance_data(
    instance_id: str, body: dict[str, Any], principal: Staff, session: SessionDep, services: ServicesDep,
    shape: AnswerShapeDep,
) -> CaseAnswer:
    """Correct a running or failed instance's data (admins; recorded with old and new values)."""
    instance = commands.edit_data(session, services.ctx, principal, instance_id, body)
    return case_answer(session, instance, shape, services.ctx)


@router.post("/instances/{instance_id}/share", response_model=CaseAnswer)
def share_instance(
    instance_id: str, body: ShareRequest, principal: Staff, session: SessionDep, services: ServicesDep,
    shape: AnswerShapeDep,
) -> CaseAnswer:
    """Let a colleague read a case you take part in (recorded)."""
    instance = commands.share(session, services.ctx, principal, instance_id, body.user)
    return case_answer(session, instance, shape, services.ctx)


@router.get("/instances/{instance_id}/audit", response_model=list[dict[str, object]])
def instance_audit(instance_id: str, principal: Anyone, session: SessionDep) -> list[dict[str, object]]:
    """Every record of the instance's trail, in order."""
    worklist.instance_for(session, principal, instance_id)
    return list(audit.records(session, instance_id))


@router.get("/instances/{instance_id}/comments", response_model=list[CommentOut])
def list_comments(instance_id: str, principal: Anyone, session: SessionDep) -> list[CommentOut]:
    worklist.instance_for(session, principal, instance_id)
    return [CommentOut.model_validate(c, from_attributes=True) for c in worklist.comments(session, instance_id)]


@router.post("/instances/{instance_id}/comments", status_code=201, response_model=CommentOut)
def add_comment(
    instance_id: str, body: CommentRequest, principal: Staff, session: SessionDep, services: ServicesDep,
) -> CommentOut:
    comment = commands.comment(session, services.ctx, principal, instance_id, body.body, body.task_id)
    return CommentOut.model_validate(comment, from_attributes=True)


@router.get("/instances/{instance_id}/attachments", response_model=list[AttachmentOut])
def list_attachments(instance_id: str, principal: Anyone, session: SessionDep) -> list[AttachmentOut]:
    worklist.instance_for(session, principal, instance_id)
    rows = attachments.attachments_of(session, instance_id)
    return [AttachmentOut.model_validate(a, from_attributes=True) for a in rows]


@router.post("/instances/{instance_id}/attachments", status_code=201, response_model=AttachmentOut)
def add_attachment(
    instance_id: str,
    principal: Staff,
    session: SessionDep,
    services: ServicesDep,
    file: Annotated[UploadFile, File()],
    task_id: Annotated[str | None, Form()] = None,
) -> AttachmentOut:
    """Attach a photo, PDF or text file (size-limited, content checked, stored by sha256)."""
    limit = services.settings.attachment_max_bytes
    data = file.file.read(limit + 1)
    attachment = attachments.add_attachment(
        session, services.blobs, principal, instance_id, file.filename or "file", file.content_type or "", data,
        task_id=task_id, max_bytes=limit, at=services.ctx.clock(),
    )
    return AttachmentOut.model_validate(attachment, from_attributes=True)


@router.get("/attachments/{attachment_id}", response_class=Response)
def download_attachment(
    attachment_id: RowId, principal: Anyone, session: SessionDep, services: ServicesDep
) -> Response:
    """The file as it was uploaded, always as a download."""
    attachment = attachments.get_attachment(session, principal, attachment_id)
    return _file_response(services.blobs.get(attachment.sha256), attachment.content_type, attachment.filename,
                          inline=False)


@router.get("/attachments/{attachment_id}/inline", response_class=Response)
def view_attachment(
    attachment_id: RowId, principal: Anyone, session: SessionDep, services: ServicesDep
) -> Response:
    """A verified image, shown in the browser; any other file is a download, as from the address above."""
    attachment = attachments.get_attachment(session, principal, attachment_id)
    return _file_response(services.blobs.get(attachment.sha256), attachment.content_type, attachment.filename,
                          inline=attachment.verified_image)


@router.get("/attachments/{attachment_id}/thumbnail", response_class=Response)
def attachment_thumbnail(
    attachment_id: RowId, principal: Anyone, session: SessionDep, services: ServicesDep
) -> Response:
    """A verified image's thumbnail (a JPEG of at most 320 px, without the photo's metadata)."""
    attachment = attachments.get_attachment(session, principal, attachment_id)
    if attachment.thumbnail_sha256 is None:
        raise NotFound(f"attachment {attachment_id} is not a photo and has no thumbnail")
    name = attachment.filename.rsplit(".", 1)[0] + ".thumbnail.jpg"
    return _file_response(services.blobs.get(attachment.thumbnail_sha256), attachments.THUMBNAIL_TYPE, name,
                          inline=True)


# A file is never a page of this site: no script, no frames, nothing fetched but itself; an image shown
# inline may be styled by the browser's own viewer.
_DOWNLOAD_POLICY = "default-src 'none'; sandbox"
_INLINE_POLICY = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox"


def _file_response(content: bytes, content_type: str, filename: str, *, inline: bool) -> Response:
    headers = {
        "Content-Disposition": f"{'inline' if inline else 'attachment'}; filename*=UTF-8''{_quote(filename)}",
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": _INLINE_POLICY if inline else _DOWNLOAD_POLICY,
    }
    return Response(content, media_type=content_type, headers=headers)


def _quote(name: str) -> str:
    from urllib.parse import quote

    return quote(name, safe="")
