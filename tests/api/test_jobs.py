"""The job runner (`api/jobs.py`): jobs run in a bounded pool and end done, failed or
cancelled in the store; progress is throttled and is where a job learns to stop."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from journeyminer.api.jobs import (
    PROGRESS_INTERVAL_S,
    RESTART_REASON,
    SHUTDOWN_REASON,
    JobCancelled,
    JobContext,
    JobRunner,
    QueueFullError,
    recover_workspace,
    uploads_folder,
)
from journeyminer.api.settings import Settings
from journeyminer.api.store import JobInfo, Store, Tenant
from journeyminer.miner.errors import InternalError, SourceError


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(Settings(workspace=tmp_path / "ws", orphan_grace_s=3600)) as s:
        yield s


@pytest.fixture
def acme(store: Store) -> Tenant:
    return store.create_tenant("acme")


@pytest.fixture
def runner(store: Store) -> Iterator[JobRunner]:
    r = JobRunner(store, workers=1, queue_size=1, retry_after_s=7, private_roots=(store.root,))
    r.start()
    yield r
    r.stop()


def wait(store: Store, tenant: Tenant, job_id: str, *statuses: str) -> JobInfo:
    """Poll until the job reaches one of `statuses` (default: any final one)."""
    want = statuses or ("done", "failed", "cancelled")
    deadline = time.monotonic() + 20
    while True:
        job = store.get_job(tenant, job_id)
        if job.status in want:
            return job
        assert time.monotonic() < deadline, f"job still {job.status}"
        time.sleep(0.01)


def test_a_job_runs_off_the_callers_thread_and_ends_done_with_what_it_made(
    store: Store, acme: Tenant, runner: JobRunner
) -> None:
    seen: dict[str, Any] = {}

    def work(ctx: JobContext) -> str:
        seen["thread"] = threading.current_thread().name
        ctx.progress(0.5, "halfway")
        seen["job"] = store.get_job(acme, ctx.job_id)
        return "res_made"

    job = runner.submit(acme.id, "discover", {"log": "log_1"}, work)
    assert (job.status, job.kind, job.params) == ("queued", "discover", {"log": "log_1"})
    done = wait(store, acme, job.id)
    assert (done.status, done.result_id, done.progress) == ("done", "res_made", 1.0)
    assert seen["thread"].startswith("journeyminer-job")
    assert (seen["job"].status, seen["job"].progress, seen["job"].stage) == (
        "running",
        0.5,
        "halfway",
    )


def test_a_journeyminer_error_fails_the_job_with_its_problem_without_workspace_paths(
    store: Store, acme: Tenant, runner: JobRunner
) -> None:
    def work(ctx: JobContext) -> None:
        raise SourceError(f"cannot read {store.root}/uploads/u1/000/web.csv")

    failed = wait(store, acme, runner.submit(acme.id, "ingest", {}, work).id)
    assert failed.status == "failed" and failed.error is not None
    assert failed.error["detail"].startswith("cannot read web.csv")
    assert str(store.root) not in str(failed.error)


def test_an_unexpected_error_fails_the_job_without_saying_what_it_was(
    store: Store, acme: Tenant, runner: JobRunner
) -> None:
    def work(ctx: JobContext) -> None:
        raise RuntimeError("secret internals")

    failed = wait(store, acme, runner.submit(acme.id, "discover", {}, work).id)
    assert failed.error is not None and failed.error["status"] == 500
    assert "the job failed unexpectedly" in failed.error["detail"]
    assert "secret" not in str(failed.error)


def test_a_full_queue_refuses_one_more_job_until_a_worker_frees_up(
    store: Store, acme: Tenant, runner: JobRunner
) -> None:
    release, cleaned = threading.Event(), threading.Event()
    running = runner.submit(acme.id, "hold", {}, lambda ctx: release.wait(20) and None)
    wait(store, acme, running.id, "running")
    queued = runner.submit(acme.id, "next", {}, lambda ctx: "res_next", cleanup=cleaned.set)
    assert not runner.has_room()
    with pytest.raises(QueueFullError) as info:
        runner.submit(acme.id, "more", {}, lambda ctx: None)
    assert (info.value.queue_size, info.value.retry_after) == (1, 7)
    with pytest.raises(QueueFullError):
        runner.check_room()
    assert len(store.list_jobs(acme)) == 2  # the refused job was never recorded
    release.set()
    assert wait(store, acme, queued.id).result_id == "res_next"
    assert cleaned.wait(10) and runner.has_room()


def test_a_job_cancelled_in_the_store_stops_at_its_next_progress_call(
    store: Store, acme: Tenant, runner: JobRunner
) -> None:
    steps: list[int] = []
    cleaned = threading.Event()

    def work(ctx: JobContext) -> str:
        for i in range(2000):
            steps.append(i)
            ctx.progress(i / 2000, force=True)
            time.sleep(0.005)
        return "res_never"

    job = runner.submit(acme.id, "discover", {}, work, cleanup=cleaned.set)
    wait(store, acme, job.id, "running")
    while not steps:
        time.sleep(0.005)
    store.cancel_job(acme, job.id)
    assert cleaned.wait(10)
    final = store.get_job(acme, job.id)
    assert (final.status, final.result_id) == ("cancelled", None)
    assert len(steps) < 2000


def test_a_job_cancelled_while_it_waits_never_runs(
    store: Store, acme: Tenant, runner: JobRunner
) -> None:
    release = threading.Event()
    ran: list[str] = []
    cleaned = threading.Event()
    blocker = runner.submit(acme.id, "hold", {}, lambda ctx: release.wait(20) and None)
    wait(store, acme, blocker.id, "running")
    job = runner.submit(
        acme.id, "discover", {}, lambda ctx: ran.append("x") or None, cleanup=cleaned.set
    )
    store.cancel_job(acme, job.id)
    release.set()
    assert cleaned.wait(10)
    assert ran == [] and store.get_job(acme, job.id).status == "cancelled"


def _stopped_with_a_running_and_a_waiting_job(
    store: Store, acme: Tenant
) -> tuple[JobRunner, JobInfo, JobInfo, list[str]]:
    runner = JobRunner(store, workers=1, queue_size=5)
    runner.start()
    started = threading.Event()
    cleaned: list[str] = []

    def work(ctx: JobContext) -> None:
        started.set()
        while True:  # until the runner stops
            ctx.progress(0.1, force=True)
            time.sleep(0.005)

    running = runner.submit(
        acme.id, "discover", {}, work, cleanup=lambda: cleaned.append("running")
    )
    assert started.wait(10)
    waiting = runner.submit(
        acme.id, "discover", {}, work, cleanup=lambda: cleaned.append("waiting")
    )
    runner.stop()
    return runner, running, waiting, cleaned


def test_stopping_fails_the_running_job_at_its_next_progress_and_cleans_up(
    store: Store, acme: Tenant
) -> None:
    runner, running, _, cleaned = _stopped_with_a_running_and_a_waiting_job(store, acme)
    job = store.get_job(acme, running.id)
    assert job.status == "failed" and job.error is not None
    assert job.error["detail"] == SHUTDOWN_REASON
    assert "running" in cleaned
    with pytest.raises(InternalError, match="not running"):
        runner.submit(acme.id, "discover", {}, lambda ctx: None)


def test_stopping_fails_a_waiting_job_and_runs_its_cleanup(store: Store, acme: Tenant) -> None:
    _, _, waiting, cleaned = _stopped_with_a_running_and_a_waiting_job(store, acme)
    job = store.get_job(acme, waiting.id)
    assert job.status == "failed" and job.error is not None
    assert job.error["detail"] == SHUTDOWN_REASON
    assert sorted(cleaned) == ["running", "waiting"]


def test_starting_fails_jobs_a_previous_process_left_and_sweeps_old_uploads(
    store: Store, acme: Tenant
) -> None:
    left = store.create_job(acme, "ingest")
    store.start_job(acme, left.id)
    waiting = store.create_job(acme, "discover")
    folder = uploads_folder(store)
    old, young = folder / "old", folder / "young"
    for path in (old, young):
        (path / "000").mkdir(parents=True)
        (path / "000" / "web.csv").write_text("x")
    hours_ago = time.time() - 2 * 3600  # orphan_grace_s is 1 hour
    os.utime(old, (hours_ago, hours_ago))
    assert sorted(recover_workspace(store)) == sorted([left.id, waiting.id])
    for job_id in (left.id, waiting.id):
        error = store.get_job(acme, job_id).error
        assert error is not None and error["detail"] == RESTART_REASON
    assert not old.exists() and (young / "000" / "web.csv").exists()
    assert recover_workspace(store) == []


# -- progress ------------------------------------------------------------------------------
class _Recorder:
    """Stands in for the store: records progress writes; says "cancelled" when told to."""

    def __init__(self) -> None:
        self.writes: list[tuple[float, str | None]] = []
        self.running = True

    def update_progress(self, tenant: str, job_id: str, fraction: float, stage: str | None) -> bool:
        self.writes.append((fraction, stage))
        return self.running


def _context() -> tuple[JobContext, _Recorder, threading.Event]:
    recorder, stopping = _Recorder(), threading.Event()
    return JobContext(recorder, "ten_1", "job_1", stopping), recorder, stopping  # type: ignore[arg-type]


def test_progress_writes_at_most_every_interval_unless_the_stage_changes_or_forced() -> None:
    ctx, recorder, _ = _context()
    ctx.progress(0.1, "read")
    ctx.progress(0.2, "read")  # same stage, too soon: not written
    ctx.progress(0.3, "stitch")  # a new stage is written at once
    ctx.progress(0.4, "stitch", force=True)
    ctx.progress(1.7, "stitch", force=True)  # clamped to [0, 1]
    ctx.progress(-3, "write")
    assert recorder.writes == [
        (0.1, "read"),
        (0.3, "stitch"),
        (0.4, "stitch"),
        (1.0, "stitch"),
        (0.0, "write"),
    ]
    time.sleep(PROGRESS_INTERVAL_S + 0.05)
    ctx.progress(0.5, "write")
    assert recorder.writes[-1] == (0.5, "write")


def test_progress_raises_job_cancelled_once_the_job_is_no_longer_running() -> None:
    ctx, recorder, _ = _context()
    recorder.running = False
    with pytest.raises(JobCancelled, match="cancelled"):
        ctx.progress(0.5, "read")
    ctx2, recorder2, stopping = _context()
    stopping.set()
    with pytest.raises(JobCancelled, match=SHUTDOWN_REASON):
        ctx2.progress(0.5, force=True)
    assert recorder2.writes == []


def test_a_stage_reporter_maps_done_of_total_onto_its_share_of_the_job() -> None:
    ctx, recorder, _ = _context()
    report = ctx.stage_reporter(0.2, 0.6)
    report("read", 0, 4)
    report("parse", 2, 4)
    report("empty", 0, 0)  # no total: the start of the share
    assert recorder.writes == [(0.2, "read"), (pytest.approx(0.4), "parse"), (0.2, "empty")]
