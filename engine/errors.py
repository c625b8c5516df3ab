"""Every failure the engine reports, as one tree of named errors.

    CityflowError
    ├── DefinitionError          a BPMN/DMN/form file cannot be used (carries problems)
    ├── NotFound
    │   ├── ProcessNotFound
    │   ├── InstanceNotFound
    │   ├── TaskNotFound
    │   └── UserNotFound
    ├── Conflict
    │   ├── ConcurrentUpdate     another writer changed the instance first
    │   ├── TaskNotReady         the task is no longer waiting for anyone
    │   ├── InstanceNotActive    the instance has ended, errored or been cancelled
    │   └── PersonErased         a person of the 인물 register was erased at their request
    ├── InvalidInput             a request is malformed (bad JSON, wrong type)
    │   └── TooLarge             an upload over the size limit
    ├── NotAuthenticated         no valid credentials
    │   └── AccountLocked        too many failed logins
    ├── NotAllowed               the actor may not do this
    │   └── PersonalDataRefused  ... read or keep people's personal data (인물)
    ├── ScriptFailed             a designer's script or condition failed
    │   └── ScriptRefused        ... because it tried something the sandbox forbids
    └── AuditBroken              the audit trail does not verify

The HTTP layer maps each class to a status in one place; the engine knows no HTTP.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a definition file, reported as ``file:line: CODE: message``."""

    file: str
    line: int
    code: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.code}: {self.message}"

    def as_dict(self) -> dict[str, object]:
        return {"file": self.file, "line": self.line, "code": self.code, "message": self.message}


class CityflowError(Exception):
    """Base of every error cityflow reports to a user.

    ``recorded``: the refusal was written to the audit trail before anything else changed,
    and the unit of work keeps that record even though the operation fails.
    """

    def __init__(self, detail: str = "", recorded: bool = False) -> None:
        super().__init__(detail or self.__class__.__name__)
        self.detail = detail or self.__class__.__name__
        self.recorded = recorded

    @property
    def name(self) -> str:
        return self.__class__.__name__


class DefinitionError(CityflowError):
    """Definition files that cannot be deployed; ``problems`` says why, file by file."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("; ".join(str(p) for p in problems[:5]) or "invalid definition")


class NotFound(CityflowError):
    pass


class ProcessNotFound(NotFound):
    pass


class InstanceNotFound(NotFound):
    pass


class TaskNotFound(NotFound):
    pass


class UserNotFound(NotFound):
    pass


class Conflict(CityflowError):
    pass


class ConcurrentUpdate(Conflict):
    pass


class TaskNotReady(Conflict):
    """A task that was waiting once and is done now; ``instance_id`` is its case, when known."""

    def __init__(self, detail: str = "", *, instance_id: str | None = None) -> None:
        super().__init__(detail)
        self.instance_id = instance_id


class InstanceNotActive(Conflict):
    pass


class InvalidInput(CityflowError):
    pass


class FormInvalid(InvalidInput):
    """Submitted data does not satisfy the task's form; ``errors`` name the fields."""

    def __init__(self, errors: list[dict[str, str]]) -> None:
        super().__init__("; ".join(f"{e['field'] or 'form'}: {e['message']}" for e in errors[:5]))
        self.errors = errors


class NotAllowed(CityflowError):
    pass


class PersonalDataRefused(NotAllowed):
    """Someone not entitled to people's personal data (the 인물 register) asked for them."""


class PersonErased(Conflict):
    """A person of the 인물 register was erased at their request: nothing of them is left to read or change."""


class ScriptFailed(CityflowError):
    """A script or condition raised, timed out, or was refused."""


class DataTooLarge(ScriptFailed):
    """A step would leave a case holding more data than a case may (``CITYFLOW_MAX_DATA_BYTES``)."""


class ScriptRefused(ScriptFailed):
    """The sandbox refused an operation (import, dunder access, file or network access)."""


class AuditBroken(CityflowError):
    pass


class NotAuthenticated(CityflowError):
    """No valid credentials: a wrong password, an unknown, expired or revoked token."""


class AccountLocked(NotAuthenticated):
    """Too many failed logins; the account is locked for a while."""


class TooLarge(InvalidInput):
    """An upload over the size limit."""
