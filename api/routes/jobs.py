"""Jobs: the state of any background job (ingest, append, analysis) and its cancellation."""

from __future__ import annotations

from fastapi import APIRouter

from ..deps import StoreDep, TenantDep
from ..schemas import JobList, JobPublic
from . import problem_responses

router = APIRouter(prefix="/jobs", tags=["jobs"])


@router.get("", summary="List recent jobs")
def list_jobs(tenant: TenantDep, store: StoreDep) -> JobList:
    """The tenant's 100 most recent jobs, newest first."""
    return JobList(jobs=[JobPublic.of(j) for j in store.list_jobs(tenant)])


@router.get("/{job_id}", summary="A job's status and progress", responses=problem_responses(404))
def get_job(job_id: str, tenant: TenantDep, store: StoreDep) -> JobPublic:
    """Status, progress (0-1), stage, timings, error and what it produced."""
    return JobPublic.of(store.get_job(tenant, job_id))


@router.delete("/{job_id}", summary="Cancel a job", responses=problem_responses(404))
def cancel_job(job_id: str, tenant: TenantDep, store: StoreDep) -> JobPublic:
    """Cancel a queued or running job (it stops at its next stage); a finished job stays."""
    return JobPublic.of(store.cancel_job(tenant, job_id))
