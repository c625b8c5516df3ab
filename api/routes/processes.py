"""Deployed processes: list, deploy (designers), move running cases to another version (designers), draw."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Query, UploadFile
from fastapi.responses import Response

from api.deps import Anyone, Designer, ServicesDep, SessionDep
from api.diagram import render_svg
from api.schemas import DeployedOut, InstanceMoveOut, MigrationOut, MigrationRequest, ProcessOut, process_out
from engine import commands, definitions
from engine.bpmn_xml import definition_stem, is_bpmn_file
from engine.errors import DefinitionError, InvalidInput, Problem

router = APIRouter(prefix="/api/processes", tags=["processes"])

MAX_UPLOAD = 10 * 1024 * 1024


@router.get("", response_model=list[ProcessOut])
def list_processes(principal: Anyone, session: SessionDep) -> list[ProcessOut]:
    """The newest version of every deployed process."""
    return [process_out(row) for row in definitions.latest_versions(session)]


def _relative_name(filename: str | None) -> str:
    name = (filename or "").replace("\\", "/").lstrip("/")
    if not name or any(part in ("", ".", "..") for part in name.split("/")):
        raise InvalidInput(f"'{filename}' is not a usable file name")
    return name


@router.post("", status_code=201, response_model=list[DeployedOut])
def deploy(
    principal: Designer,
    session: SessionDep,
    files: Annotated[list[UploadFile], File(description="the BPMN, DMN and form files of one process")],
    key: Annotated[str | None, Form(description="process key; default: the first BPMN file's name")] = None,
) -> list[DeployedOut]:
    """Validate and deploy one process from uploaded files; 422 lists every problem."""
    contents: dict[str, bytes] = {}
    for upload in files:
        name = _relative_name(upload.filename)
        data = upload.file.read(MAX_UPLOAD + 1)
        if len(data) > MAX_UPLOAD:
            raise DefinitionError([Problem(name, 0, "FILE_TOO_LARGE", f"more than {MAX_UPLOAD} bytes")])
        contents[name] = data
    bpmn = sorted(n for n in contents if is_bpmn_file(n))
    process_key = key or (definition_stem(bpmn[0]) if bpmn else "")
    checked = definitions.check(definitions.DefinitionSource(key=process_key, files=contents))
    deployed = definitions.deploy(session, checked, principal.username)
    return [DeployedOut(key=deployed.key, version=deployed.version, hash=deployed.hash, created=deployed.created)]


@router.post("/{key}/migrate", response_model=MigrationOut)
def migrate_instances(
    key: str, body: MigrationRequest, principal: Designer, session: SessionDep, services: ServicesDep
) -> MigrationOut:
    """Move the running cases of a process from one version to another (designers, admins): each
    whose current tasks are unchanged there moves, the others stay with their reasons."""
    result = commands.migrate_instances(session, services.ctx, principal, key, body.from_version, body.to,
                                        dry_run=body.dry_run)
    return MigrationOut(
        key=result.process_key, from_version=result.from_version, to_version=result.to_version,
        dry_run=result.dry_run, moved=len(result.moved), kept=len(result.kept),
        instances=[InstanceMoveOut(instance_id=m.instance_id, business_key=m.business_key, moved=m.moved, at=m.at,
                                   reasons=m.reasons) for m in result.moves],
    )


@router.get("/{key}/diagram.svg", response_class=Response, responses={200: {"content": {"image/svg+xml": {}}}})
def process_diagram(
    key: str, principal: Anyone, session: SessionDep, version: Annotated[int | None, Query(ge=1, le=2**31)] = None
) -> Response:
    row = definitions.version_row(session, key, version)
    svg = render_svg(definitions.diagram_files(row), title=row.name)
    return Response(svg, media_type="image/svg+xml")
