"""Background jobs in the store (`api/store/jobs.py`): transitions, cancel, fail,
interrupted jobs, tenancy."""

from __future__ import annotations

import pytest

from journeyminer.api.store import Store, Tenant
from journeyminer.miner.errors import NotFoundError


def test_a_job_runs_from_queued_to_done_with_progress(store: Store, acme: Tenant) -> None:
    job = store.create_job(acme, "discover", {"log": "log_x"})
    assert (job.status, job.progress, job.params) == ("queued", 0.0, {"log": "log_x"})
    assert job.id.startswith("job_")
    assert store.start_job(acme, job.id).status == "running"
    assert store.update_progress(acme, job.id, 0.5, "variants") is True
    half = store.get_job(acme, job.id)
    assert (half.progress, half.stage) == (0.5, "variants")
    done = store.finish_job(acme, job.id, result_id="res_x")
    assert (done.status, done.progress, done.result_id) == ("done", 1.0, "res_x")
    assert done.finished and done.finished_at is not None
    assert store.update_progress(acme, job.id, 0.9) is False
    with pytest.raises(ValueError):
        store.update_progress(acme, job.id, 1.5)
    assert [j.id for j in store.list_jobs(acme, status="done")] == [job.id]


def test_a_cancelled_job_stays_cancelled(store: Store, acme: Tenant) -> None:
    job = store.create_job(acme, "compare")
    store.start_job(acme, job.id)
    assert store.cancel_job(acme, job.id).status == "cancelled"
    assert store.update_progress(acme, job.id, 0.7) is False
    assert store.finish_job(acme, job.id).status == "cancelled"
    assert store.fail_job(acme, job.id, {"detail": "x"}).status == "cancelled"
    queued = store.create_job(acme, "compare")
    store.cancel_job(acme, queued.id)
    assert store.start_job(acme, queued.id).status == "cancelled"


def test_a_failed_job_keeps_its_problem(store: Store, acme: Tenant) -> None:
    job = store.create_job(acme, "ingest")
    store.start_job(acme, job.id)
    failed = store.fail_job(acme, job.id, {"title": "Invalid input", "status": 422})
    assert failed.status == "failed" and failed.error == {"title": "Invalid input", "status": 422}


def test_interrupted_jobs_are_failed_with_the_reason(
    store: Store, acme: Tenant, other: Tenant
) -> None:
    running = store.create_job(acme, "discover")
    store.start_job(acme, running.id)
    queued = store.create_job(other, "discover")
    done = store.create_job(acme, "discover")
    store.start_job(acme, done.id)
    store.finish_job(acme, done.id)
    assert {j.id for j in store.unfinished_jobs()} == {running.id, queued.id}
    assert store.mark_interrupted_jobs_failed("restart", stale_after_s=3600) == []
    ids = store.mark_interrupted_jobs_failed("the server restarted", statuses=("running",))
    assert ids == [running.id]
    failed = store.get_job(acme, running.id)
    assert failed.status == "failed" and failed.error is not None
    assert failed.error["detail"] == "the server restarted"
    assert store.get_job(other, queued.id).status == "queued"
    assert store.mark_interrupted_jobs_failed("again") == [queued.id]
    assert store.get_job(acme, done.id).status == "done"


def test_other_tenants_jobs_are_not_found(store: Store, acme: Tenant, other: Tenant) -> None:
    job = store.create_job(acme, "discover")
    for call in (
        lambda: store.get_job(other, job.id),
        lambda: store.start_job(other, job.id),
        lambda: store.update_progress(other, job.id, 0.1),
        lambda: store.finish_job(other, job.id),
        lambda: store.fail_job(other, job.id, {}),
        lambda: store.cancel_job(other, job.id),
    ):
        with pytest.raises(NotFoundError):
            call()
    assert store.list_jobs(other) == []
    assert store.get_job(acme, job.id).status == "queued"


def test_jobs_list_newest_first_by_status_and_up_to_a_limit(store: Store, acme: Tenant) -> None:
    ids = [store.create_job(acme, "discover", {"n": i}).id for i in range(4)]
    store.start_job(acme, ids[1])
    assert [j.id for j in store.list_jobs(acme)] == ids[::-1]
    assert [j.id for j in store.list_jobs(acme, limit=2)] == ids[:1:-1]
    assert [j.id for j in store.list_jobs(acme, status="running")] == [ids[1]]
    assert [j.params for j in store.list_jobs(acme, status="queued")] == [
        {"n": 3},
        {"n": 2},
        {"n": 0},
    ]


def test_progress_without_a_stage_keeps_the_last_stage(store: Store, acme: Tenant) -> None:
    job = store.create_job(acme, "ingest")
    store.start_job(acme, job.id)
    store.update_progress(acme, job.id, 0.2, "read")
    store.update_progress(acme, job.id, 0.4)
    assert (store.get_job(acme, job.id).progress, store.get_job(acme, job.id).stage) == (
        0.4,
        "read",
    )


def test_only_a_running_job_can_finish(store: Store, acme: Tenant) -> None:
    job = store.create_job(acme, "discover")
    assert store.finish_job(acme, job.id, result_id="res_x").status == "queued"
    assert store.update_progress(acme, job.id, 0.5) is False
    assert store.mark_interrupted_jobs_failed("x", statuses=()) == []
    assert store.get_job(acme, job.id).status == "queued"
