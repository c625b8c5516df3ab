"""The organisation for pickers: people and departments found by a few words of their name."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from api.deps import SessionDep, Staff
from engine import identity

router = APIRouter(prefix="/api", tags=["organisation"])

Words = Annotated[str, Query(max_length=100, description="words of a name, position or department")]
Limit = Annotated[int, Query(ge=1, le=identity.SEARCH_LIMIT)]


class PersonOut(BaseModel):
    value: str = Field(description="what a person field posts (the username); not shown to people")
    name: str
    position: str | None
    department: str | None


class DepartmentOut(BaseModel):
    value: str = Field(description="what a department field posts (its name)")
    name: str
    kind: str = Field(description="국, 실, 과, 팀")
    parent: str | None = Field(description="the bureau it belongs to")


@router.get("/people", response_model=list[PersonOut])
def find_people(principal: Staff, session: SessionDep, q: Words = "", limit: Limit = 20) -> list[PersonOut]:
    """Active people whose name, position or department holds every word of ``q``."""
    return [PersonOut(value=p.username, name=p.name, position=p.position, department=p.department)
            for p in identity.find_people(session, q, limit)]


@router.get("/departments", response_model=list[DepartmentOut])
def find_departments(principal: Staff, session: SessionDep, q: Words = "", limit: Limit = 20) -> list[DepartmentOut]:
    """Departments whose name (or their bureau's) holds every word of ``q``."""
    return [DepartmentOut(value=u.name, name=u.name, kind=u.kind, parent=u.parent)
            for u in identity.find_departments(session, q, limit)]
