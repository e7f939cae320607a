"""The store's background jobs: queued, running, then done, failed or cancelled.

Every transition is one conditional UPDATE, so a job cancelled meanwhile stays cancelled
and a runner sees that in the returned record.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from ...miner.errors import NotFoundError
from .base import StoreBase, TenantRef, new_id, tenant_id_of, to_json, utc_now
from .records import JobInfo

JobStatus = Literal["queued", "running", "done", "failed", "cancelled"]

_RUNNING: tuple[Literal["queued", "running"], ...] = ("queued", "running")


class JobsMixin(StoreBase):
    """Background jobs and their progress."""

    def create_job(
        self, tenant: TenantRef, kind: str, params: Mapping[str, Any] | None = None
    ) -> JobInfo:
        """A new queued job."""
        tenant_id = self.get_tenant(tenant_id_of(tenant)).id
        job_id, now = new_id("job"), utc_now()
        with self._db.write() as con:
            con.execute(
                "INSERT INTO jobs (id, tenant_id, kind, status, params, created_at, updated_at)"
                " VALUES (?, ?, ?, 'queued', ?, ?, ?)",
                (job_id, tenant_id, kind, to_json(dict(params or {})), now, now),
            )
        return self.get_job(tenant_id, job_id)

    def get_job(self, tenant: TenantRef, job_id: str) -> JobInfo:
        """The job's state, progress and result."""
        return JobInfo.from_row(self._job_row(self._db.get(), tenant_id_of(tenant), job_id))

    def list_jobs(
        self, tenant: TenantRef, *, status: JobStatus | None = None, limit: int = 100
    ) -> list[JobInfo]:
        """The tenant's jobs, newest first."""
        sql, args = "SELECT * FROM jobs WHERE tenant_id = ?", [tenant_id_of(tenant)]
        if status is not None:
            sql += " AND status = ?"
            args.append(status)
        rows = self._db.get().execute(f"{sql} ORDER BY created_at DESC, id LIMIT ?", (*args, limit))
        return [JobInfo.from_row(r) for r in rows.fetchall()]

    def start_job(self, tenant: TenantRef, job_id: str) -> JobInfo:
        """Move a queued job to running; a cancelled job stays cancelled (check `.status`)."""
        now = utc_now()
        return self._job_transition(
            tenant,
            job_id,
            "status = 'running', started_at = ?, updated_at = ?",
            (now, now),
            ("queued",),
        )

    def update_progress(
        self, tenant: TenantRef, job_id: str, progress: float, stage: str | None = None
    ) -> bool:
        """Record progress (0-1) and stage; False when the job is no longer running (cancelled)."""
        if not 0.0 <= progress <= 1.0:
            raise ValueError(f"progress must lie in [0, 1], got {progress}")
        with self._db.write() as con:
            self._job_row(con, tenant_id_of(tenant), job_id)
            cur = con.execute(
                "UPDATE jobs SET progress = ?, stage = COALESCE(?, stage), updated_at = ?"
                " WHERE id = ? AND status = 'running'",
                (progress, stage, utc_now(), job_id),
            )
        return cur.rowcount == 1

    def finish_job(
        self, tenant: TenantRef, job_id: str, *, result_id: str | None = None
    ) -> JobInfo:
        """Mark a running job done with what it produced (a result or log id)."""
        now = utc_now()
        return self._job_transition(
            tenant,
            job_id,
            "status = 'done', progress = 1, result_id = ?, finished_at = ?, updated_at = ?",
            (result_id, now, now),
            ("running",),
        )

    def fail_job(self, tenant: TenantRef, job_id: str, error: Mapping[str, Any]) -> JobInfo:
        """Mark a queued or running job failed with a problem body saying why."""
        now = utc_now()
        return self._job_transition(
            tenant,
            job_id,
            "status = 'failed', error = ?, finished_at = ?, updated_at = ?",
            (to_json(dict(error)), now, now),
            _RUNNING,
        )

    def cancel_job(self, tenant: TenantRef, job_id: str) -> JobInfo:
        """Cancel a queued or running job; a finished job is left as it is."""
        now = utc_now()
        return self._job_transition(
            tenant,
            job_id,
            "status = 'cancelled', finished_at = ?, updated_at = ?",
            (now, now),
            _RUNNING,
        )

    def unfinished_jobs(self) -> list[JobInfo]:
        """Queued and running jobs of every tenant, oldest first (for the runner at start)."""
        rows = self._db.get().execute(
            "SELECT * FROM jobs WHERE status IN ('queued', 'running') ORDER BY created_at, id"
        )
        return [JobInfo.from_row(r) for r in rows.fetchall()]

    def mark_interrupted_jobs_failed(
        self,
        reason: str,
        *,
        statuses: Sequence[Literal["queued", "running"]] = _RUNNING,
        stale_after_s: float | None = None,
    ) -> list[str]:
        """Fail unfinished jobs (all tenants) with `reason`; only stale ones if asked. Ids back."""
        if not statuses:
            return []
        sql = f"WHERE status IN ({', '.join('?' * len(statuses))})"
        args: list[Any] = list(statuses)
        if stale_after_s is not None:
            cutoff = datetime.now(UTC) - timedelta(seconds=stale_after_s)
            sql += " AND updated_at < ?"
            args.append(cutoff.isoformat(timespec="microseconds"))
        error = {"title": "Job interrupted", "status": 500, "detail": reason}
        now = utc_now()
        with self._db.write() as con:
            ids = [r[0] for r in con.execute(f"SELECT id FROM jobs {sql}", args)]
            con.execute(
                f"UPDATE jobs SET status = 'failed', error = ?, finished_at = ?, updated_at = ?"
                f" {sql}",
                (to_json(error), now, now, *args),
            )
        return ids

    def _job_transition(
        self,
        tenant: TenantRef,
        job_id: str,
        assignments: str,
        args: tuple[Any, ...],
        from_statuses: tuple[str, ...],
    ) -> JobInfo:
        with self._db.write() as con:
            self._job_row(con, tenant_id_of(tenant), job_id)
            marks = ", ".join("?" * len(from_statuses))
            con.execute(
                f"UPDATE jobs SET {assignments} WHERE id = ? AND status IN ({marks})",
                (*args, job_id, *from_statuses),
            )
            return JobInfo.from_row(self._job_row(con, tenant_id_of(tenant), job_id))

    def _job_row(self, con: sqlite3.Connection, tenant_id: str, job_id: str) -> sqlite3.Row:
        row = con.execute(
            "SELECT * FROM jobs WHERE id = ? AND tenant_id = ?", (job_id, tenant_id)
        ).fetchone()
        if row is None:
            raise NotFoundError(f"job {job_id!r} does not exist", extra={"id": job_id})
        return row


def drop_jobs_of(
    con: sqlite3.Connection, tenant_id: str, param: Literal["log", "map"], value: str
) -> list[str]:
    """Inside the write that deletes a log or map: delete the finished jobs that name it
    (their result or log link would answer 404), cancel the unfinished ones; deleted ids."""
    # Jobs name their log and map in `params`; ingest and append jobs name their log there
    # too (and link to it as their result).
    where = f"tenant_id = ? AND json_extract(params, '$.{param}') = ?"
    finished = f"SELECT id FROM jobs WHERE {where} AND status IN ('done', 'failed', 'cancelled')"
    ids = [r[0] for r in con.execute(finished, (tenant_id, value))]
    con.executemany("DELETE FROM jobs WHERE id = ?", [(i,) for i in ids])
    now = utc_now()
    why = {"title": "Cancelled", "status": 409, "detail": f"its {param} {value!r} was deleted"}
    con.execute(
        "UPDATE jobs SET status = 'cancelled', error = ?, finished_at = ?, updated_at = ?"
        f" WHERE {where} AND status IN ('queued', 'running')",
        (to_json(why), now, now, tenant_id, value),
    )
    return ids
