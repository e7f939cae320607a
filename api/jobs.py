"""The job runner: ingests and analyses run off the event loop, in a bounded thread pool.

Threads, not processes: the numba kernels release the GIL (`nogil=True`) and polars runs
its own native threads, so two jobs overlap on two cores without pickling logs to a child
process (measured: two discovers of 1M events take about the time of one). The queue is bounded:
`settings.queue_size` jobs may wait; one more gets `QueueFullError` (HTTP 429 with
Retry-After). Cancellation is cooperative: a job calls `ctx.progress(...)` between its
stages, which raises `JobCancelled` once the job was cancelled in the store (or the runner
stops). At start the runner marks jobs left queued or running by a previous process failed
("interrupted by a restart"): their uploads may be incomplete, and an analysis is one POST
away (its result cache makes a re-run of finished work free). Logs left pending (an ingest
cut short) are marked failed too, so that they can be deleted or appended to.
"""

from __future__ import annotations

import logging
import shutil
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..miner.errors import InternalError, JourneyminerError
from .engine import Engine
from .memory import release_memory
from .store import JobInfo, Store
from .uploads import scrub_paths

log = logging.getLogger("journeyminer.api.jobs")

PROGRESS_INTERVAL_S = 0.25
RESTART_REASON = "interrupted by a restart"
INGEST_RESTART_REASON = (
    "the ingest was interrupted by a restart before any events were stored:"
    " append the sources again (POST /logs/{id}/events) or delete the log"
)
SHUTDOWN_REASON = "interrupted: the server shut down"


class QueueFullError(Exception):
    """No room in the job queue; try again after `retry_after` seconds."""

    def __init__(self, queue_size: int, retry_after: int) -> None:
        super().__init__(f"the job queue is full ({queue_size} jobs waiting)")
        self.queue_size, self.retry_after = queue_size, retry_after


class JobCancelled(Exception):
    """Raised inside a job at a stage boundary once it was cancelled."""


@dataclass
class JobContext:
    """What a running job sees: its store, tenant and id, and a throttled progress reporter."""

    store: Store
    tenant_id: str
    job_id: str
    stopping: threading.Event
    engine: Engine = field(default_factory=Engine)  # where analyses run their partitions
    _last: float = field(default=0.0, repr=False)
    _stage: str | None = field(default=None, repr=False)

    def progress(self, fraction: float, stage: str | None = None, *, force: bool = False) -> None:
        """Record progress (0-1) and stage; raise JobCancelled if the job should stop.

        Writes at most every PROGRESS_INTERVAL_S unless the stage changed or `force`.
        """
        if self.stopping.is_set():
            raise JobCancelled(SHUTDOWN_REASON)
        now = time.monotonic()
        if not force and stage == self._stage and now - self._last < PROGRESS_INTERVAL_S:
            return
        self._last, self._stage = now, stage
        fraction = min(max(fraction, 0.0), 1.0)
        if not self.store.update_progress(self.tenant_id, self.job_id, fraction, stage):
            raise JobCancelled("cancelled")

    def stage_reporter(self, start: float, end: float) -> Callable[[str, int, int], None]:
        """A `progress(stage, done, total)` callback (ingest's) mapped onto [start, end]."""

        def report(stage: str, done: int, total: int) -> None:
            self.progress(start + (end - start) * done / max(total, 1), stage)

        return report


#: The work of one job: returns the id of what it produced (a result or log id), or None.
JobWork = Callable[[JobContext], str | None]


class JobRunner:
    """Runs jobs in a bounded thread pool, records their state in the store."""

    def __init__(
        self,
        store: Store,
        *,
        workers: int,
        queue_size: int,
        retry_after_s: int = 5,
        private_roots: tuple[Path, ...] = (),
        engine: Engine | None = None,
    ) -> None:
        """Create a stopped runner; `start()` it in the app's lifespan. Its jobs' analyses
        run on `engine` (default: one partition at a time, here)."""
        self.store, self.workers, self.queue_size = store, workers, queue_size
        self.engine = engine or Engine()
        self.retry_after_s = retry_after_s
        self.private_roots = private_roots
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()
        self._waiting = 0
        self._owned: dict[str, tuple[str, Future[None], Callable[[], None] | None]] = {}
        self._stopping = threading.Event()

    # -- lifecycle ----------------------------------------------------------------------
    def start(self, *, recover: bool = True) -> list[str]:
        """Start the pool; with `recover`, fail jobs a previous process left unfinished."""
        failed = recover_workspace(self.store) if recover else []
        self._stopping.clear()
        self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="journeyminer-job")
        return failed

    def stop(self) -> None:
        """Cancel waiting jobs, ask running ones to stop at their next stage, and wait."""
        self._stopping.set()
        # Taken before the pool cancels the waiting futures: cancelling runs their done
        # callback (`_forget`) at once, which would drop them from `_owned` unanswered.
        with self._lock:
            owned = dict(self._owned)
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        with self._lock:
            self._owned = {}
        for job_id, (tenant_id, future, cleanup) in owned.items():
            if not future.cancelled():
                continue  # it ran, and recorded its own end
            if cleanup is not None:
                with suppress(Exception):
                    cleanup()
            with suppress(JourneyminerError):
                self.store.fail_job(tenant_id, job_id, _problem(InternalError(SHUTDOWN_REASON)))

    # -- submitting ---------------------------------------------------------------------
    def has_room(self) -> bool:
        """Whether one more job could wait in the queue now."""
        with self._lock:
            return self._waiting < self.queue_size

    def check_room(self) -> None:
        """Raise QueueFullError when the queue is full (call before accepting an upload)."""
        if not self.has_room():
            raise QueueFullError(self.queue_size, self.retry_after_s)

    def submit(
        self,
        tenant_id: str,
        kind: str,
        params: Mapping[str, Any],
        work: JobWork,
        *,
        cleanup: Callable[[], None] | None = None,
    ) -> JobInfo:
        """Queue `work` as a new job; QueueFullError when `queue_size` jobs already wait."""
        pool = self._pool
        if pool is None:
            raise InternalError("the job runner is not running")
        with self._lock:
            if self._waiting >= self.queue_size:
                raise QueueFullError(self.queue_size, self.retry_after_s)
            self._waiting += 1
        try:
            job = self.store.create_job(tenant_id, kind, params)
            future = pool.submit(self._run, tenant_id, job.id, work, cleanup)
        except BaseException:
            with self._lock:
                self._waiting -= 1
            raise
        with self._lock:
            self._owned[job.id] = (tenant_id, future, cleanup)
        future.add_done_callback(lambda _: self._forget(job.id))
        return job

    def _forget(self, job_id: str) -> None:
        with self._lock:
            self._owned.pop(job_id, None)

    # -- running ------------------------------------------------------------------------
    def _run(
        self, tenant_id: str, job_id: str, work: JobWork, cleanup: Callable[[], None] | None
    ) -> None:
        with self._lock:
            self._waiting -= 1
        started = time.monotonic()
        try:
            job = self.store.start_job(tenant_id, job_id)
            if job.status != "running":
                return  # cancelled while it waited
            ctx = JobContext(self.store, tenant_id, job_id, self._stopping, self.engine)
            result_id = work(ctx)
            self.store.finish_job(tenant_id, job_id, result_id=result_id)
            log.info(
                "job done",
                extra={"job": job_id, "duration_ms": round((time.monotonic() - started) * 1000)},
            )
        except JobCancelled as exc:
            if self._stopping.is_set():
                self.store.fail_job(tenant_id, job_id, _problem(InternalError(str(exc))))
            else:
                self.store.cancel_job(tenant_id, job_id)
        except JourneyminerError as exc:
            self._fail(tenant_id, job_id, _problem(exc, self.private_roots))
        except Exception:
            log.exception("job failed unexpectedly", extra={"job": job_id})
            self._fail(
                tenant_id,
                job_id,
                _problem(InternalError("the job failed unexpectedly; the server log has details")),
            )
        finally:
            if cleanup is not None:
                with suppress(Exception):
                    cleanup()
            release_memory()  # the job's frames are gone: give their pages back

    def _fail(self, tenant_id: str, job_id: str, problem: dict[str, Any]) -> None:
        with suppress(JourneyminerError):
            self.store.fail_job(tenant_id, job_id, problem)


def uploads_folder(store: Store) -> Path:
    """Where uploads are streamed to before their ingest job reads them."""
    return store.root / "uploads"


def recover_workspace(store: Store) -> list[str]:
    """Fail jobs and logs left unfinished by a previous process, remove its upload leftovers.

    A log is pending from the upload's first commit until its ingest job commits its first
    part; a crash in between (before the job even exists, or while it runs) left it pending
    for ever, refusing appends and analyses (issue 14).
    """
    failed = store.mark_interrupted_jobs_failed(RESTART_REASON)
    stranded = store.mark_interrupted_ingests_failed(INGEST_RESTART_REASON)
    folder = uploads_folder(store)
    cutoff = time.time() - store.settings.orphan_grace_s
    if folder.is_dir():
        for entry in folder.iterdir():
            with suppress(OSError):
                if entry.stat().st_mtime <= cutoff:
                    shutil.rmtree(entry, ignore_errors=True)
    if failed:
        log.warning("failed interrupted jobs", extra={"jobs": failed})
    if stranded:
        log.warning("failed interrupted ingests", extra={"logs": stranded})
    return failed


def _problem(exc: JourneyminerError, roots: tuple[Path, ...] = ()) -> dict[str, Any]:
    return scrub_paths(exc.problem(), roots) if roots else exc.problem()
