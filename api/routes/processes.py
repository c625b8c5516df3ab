"""Deployed processes: list, deploy (designers), draw."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Query, UploadFile
from fastapi.responses import Response

from api.deps import Anyone, Designer, SessionDep
from api.diagram import render_svg
from api.schemas import DeployedOut, ProcessOut, process_out
from engine import definitions
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


@router.get("/{key}/diagram.svg", response_class=Response, responses={200: {"content": {"image/svg+xml": {}}}})
def process_diagram(
    key: str, principal: Anyone, session: SessionDep, version: Annotated[int | None, Query(ge=1, le=2**31)] = None
) -> Response:
    row = definitions.version_row(session, key, version)
    svg = render_svg(definitions.diagram_files(row), title=row.name)
    return Response(svg, media_type="image/svg+xml")
