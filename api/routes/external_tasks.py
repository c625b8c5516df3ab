"""External task workers, in the shape of Camunda 7's external task REST API (``/external-task``):
systems outside cityflow fetch and lock service tasks by topic and report what came of them.

Long polling (``asyncResponseTimeout``) is accepted and ignored: a fetch answers at once, with the
tasks due now or none, and the worker asks again after its own pause.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query, Response
from pydantic import BaseModel, Field

from api.deps import ServicesDep, SessionDep, access
from engine import external_tasks
from engine.external_tasks import ExternalTask, TopicRequest, camunda_time
from engine.identity import Principal

router = APIRouter(prefix="/api/external-tasks", tags=["external tasks"])

Worker = Annotated[Principal, Depends(access("service"))]
WorkerOrReader = Annotated[Principal, Depends(access("service", "auditor", "admin"))]
NO_CONTENT = 204


class TopicIn(BaseModel):
    topicName: str = Field(min_length=1, max_length=200)
    lockDuration: int
    variables: list[str] | None = None


class FetchIn(BaseModel):
    workerId: str = Field(min_length=1, max_length=200)
    maxTasks: int = Field(default=1, ge=1, le=external_tasks.MAX_TASKS)
    topics: list[TopicIn]
    asyncResponseTimeout: int | None = None  # accepted, not waited for: answers are immediate


class CompleteIn(BaseModel):
    workerId: str
    variables: dict[str, Any] | None = None


class FailureIn(BaseModel):
    workerId: str
    errorMessage: str | None = None
    errorDetails: str | None = None
    retries: int = Field(ge=0)
    retryTimeout: int = Field(default=0, ge=0)


class BpmnErrorIn(BaseModel):
    workerId: str
    errorCode: str = Field(min_length=1, max_length=200)
    errorMessage: str | None = None
    variables: dict[str, Any] | None = None


class ExtendLockIn(BaseModel):
    workerId: str
    newDuration: int


class UnlockIn(BaseModel):
    workerId: str | None = None  # without it, any lock is given back (Camunda's unlock has no body)


NO_BODY = UnlockIn()


class ExternalTaskOut(BaseModel):
    """Camunda's external task, with cityflow's process key and version for its definition."""

    id: str
    topicName: str
    workerId: str | None
    lockExpirationTime: str | None
    retries: int | None
    errorMessage: str | None
    errorDetails: str | None = None
    status: str
    activityId: str
    activityInstanceId: str
    processInstanceId: str
    processDefinitionKey: str
    businessKey: str | None
    priority: int = 0
    suspended: bool = False
    variables: dict[str, dict[str, Any]] | None = None


def _out(task: ExternalTask, details: bool = False) -> ExternalTaskOut:
    job = task.job
    return ExternalTaskOut(
        id=job.task_id, topicName=str(job.topic), workerId=job.worker_id,
        lockExpirationTime=camunda_time(job.locked_until), retries=job.retries, errorMessage=job.last_error,
        errorDetails=job.error_details if details else None, status=job.status, activityId=job.element_id,
        activityInstanceId=job.task_id, processInstanceId=task.instance.id,
        processDefinitionKey=task.instance.process_key, businessKey=task.instance.business_key,
        variables=task.variables,
    )


@router.post("/fetch-and-lock", response_model=list[ExternalTaskOut])
def fetch_and_lock(
    body: FetchIn, principal: Worker, session: SessionDep, services: ServicesDep
) -> list[ExternalTaskOut]:
    """Lock up to ``maxTasks`` due tasks of the topics for ``workerId``; each topic must be the caller's (403)."""
    topics = [TopicRequest(t.topicName, t.lockDuration, t.variables) for t in body.topics]
    locked = external_tasks.fetch_and_lock(session, services.ctx, principal, body.workerId, topics, body.maxTasks)
    return [_out(task) for task in locked]


@router.post("/{task_id}/complete", status_code=NO_CONTENT, response_class=Response)
def complete(task_id: str, body: CompleteIn, principal: Worker, session: SessionDep, services: ServicesDep) -> Response:
    """Done, with variables the process goes on with; 409 ``ExternalTaskLocked`` when another worker holds it."""
    external_tasks.complete(session, services.ctx, principal, task_id, body.workerId, body.variables)
    return Response(status_code=NO_CONTENT)


@router.post("/{task_id}/failure", status_code=NO_CONTENT, response_class=Response)
def failure(task_id: str, body: FailureIn, principal: Worker, session: SessionDep, services: ServicesDep) -> Response:
    """Not done: fetchable again after ``retryTimeout`` ms while ``retries`` are left; ``retries`` 0 is an incident."""
    external_tasks.report_failure(session, services.ctx, principal, task_id, body.workerId, body.errorMessage,
                                  body.errorDetails, body.retries, body.retryTimeout)
    return Response(status_code=NO_CONTENT)


@router.post("/{task_id}/bpmnError", status_code=NO_CONTENT, response_class=Response)
def bpmn_error(task_id: str, body: BpmnErrorIn, principal: Worker, session: SessionDep,
               services: ServicesDep) -> Response:
    """A business error the process models: the error boundary event catching ``errorCode`` takes it on
    (409 ``BpmnErrorUncaught`` when none does)."""
    external_tasks.report_bpmn_error(session, services.ctx, principal, task_id, body.workerId, body.errorCode,
                                     body.errorMessage, body.variables)
    return Response(status_code=NO_CONTENT)


@router.post("/{task_id}/extendLock", status_code=NO_CONTENT, response_class=Response)
def extend_lock(task_id: str, body: ExtendLockIn, principal: Worker, session: SessionDep,
                services: ServicesDep) -> Response:
    """The lock now runs ``newDuration`` ms from now."""
    external_tasks.extend_lock(session, services.ctx, principal, task_id, body.workerId, body.newDuration)
    return Response(status_code=NO_CONTENT)


@router.post("/{task_id}/unlock", status_code=NO_CONTENT, response_class=Response)
def unlock(task_id: str, principal: Worker, session: SessionDep, services: ServicesDep,
           body: Annotated[UnlockIn, Body()] = NO_BODY) -> Response:
    """Given back: any worker of its topic may fetch it at once."""
    external_tasks.unlock(session, services.ctx, principal, task_id, body.workerId)
    return Response(status_code=NO_CONTENT)


@router.get("", response_model=list[ExternalTaskOut])
def list_external_tasks(
    principal: WorkerOrReader, session: SessionDep, topicName: str | None = None, workerId: str | None = None,
    processInstanceId: str | None = None, maxResults: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[ExternalTaskOut]:
    """External tasks waiting, locked or in incident: all to auditors and admins, a service account's topics to it."""
    found = external_tasks.listed(session, principal, topicName, workerId, processInstanceId, maxResults)
    return [_out(task) for task in found]


@router.get("/{task_id}", response_model=ExternalTaskOut)
def get_external_task(task_id: str, principal: WorkerOrReader, session: SessionDep) -> ExternalTaskOut:
    return _out(external_tasks.get(session, principal, task_id), details=True)
