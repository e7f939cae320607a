"""Request and response bodies of the HTTP API, named by use, with OpenAPI examples."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ..miner._typing import AnalysisKind, MapFormat
from .store import JobInfo, LogInfo, MapInfo
from .store.jobs import JobStatus
from .store.stitching import INGESTED

API = "/api/v1"
#: The largest version number a request may name: SQLite's largest INTEGER (larger ones 500ed).
MAX_VERSION = 2**63 - 1

_T0 = "2024-05-01T09:00:00.000000+00:00"
_T1 = "2024-05-01T09:00:02.500000+00:00"
_MAP_TEXT = (
    '[journey]\nname = "webshop"\n\n[[phases]]\nid = "see"\n\n[[phases]]\nid = "do"\n\n'
    '[[touchpoints]]\nid = "landing_page"\nphase = "see"\n\n'
    '[[touchpoints]]\nid = "checkout"\nphase = "do"\n'
)


class Model(BaseModel):
    """Base of every body: unknown fields are refused, so typos surface as 422."""

    model_config = ConfigDict(extra="forbid")


# -- jobs ---------------------------------------------------------------------------------
class Timings(Model):
    """When a job was queued, started and finished; seconds waiting and running."""

    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    queued_s: float | None = Field(None, description="Seconds between queued and started.")
    run_s: float | None = Field(None, description="Seconds between started and finished.")


class JobPublic(Model):
    """A background job (an ingest, an append or an analysis) as clients see it."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "job_Yc2VqkV0xA3r",
                    "kind": "ingest",
                    "status": "running",
                    "progress": 0.4,
                    "stage": "reading call_center.csv",
                    "status_url": f"{API}/jobs/job_Yc2VqkV0xA3r",
                    "log": "log_3kT9xQ2bLm0a",
                    "result": None,
                    "error": None,
                    "timings": {"created_at": _T0, "started_at": _T1, "queued_s": 2.5},
                    "links": {"log": f"{API}/logs/log_3kT9xQ2bLm0a"},
                }
            ]
        }
    )

    id: str
    kind: str
    status: JobStatus
    progress: float = Field(ge=0, le=1, description="0 to 1.")
    stage: str | None = Field(None, description="What the job does now, in words.")
    status_url: str
    log: str | None = Field(None, description="The log the job reads or writes.")
    result: str | None = Field(None, description="Id of what the job produced.")
    error: dict[str, Any] | None = Field(None, description="Problem body of a failed job.")
    timings: Timings
    links: dict[str, str] = Field(default_factory=dict)

    @classmethod
    def of(cls, job: JobInfo) -> JobPublic:
        """From the store's JobInfo."""
        log_id = job.params.get("log")
        links: dict[str, str] = {}
        if log_id:
            links["log"] = f"{API}/logs/{log_id}"
        return cls(
            id=job.id,
            kind=job.kind,
            status=job.status,  # type: ignore[arg-type]
            progress=job.progress,
            stage=job.stage,
            status_url=f"{API}/jobs/{job.id}",
            log=log_id,
            result=job.result_id,
            error=job.error,
            timings=timings(job),
            links=links,
        )


class JobList(Model):
    """The tenant's recent jobs, newest first."""

    jobs: list[JobPublic]


def timings(job: JobInfo) -> Timings:
    """A job's timestamps and durations."""
    queued = (job.started_at - job.created_at).total_seconds() if job.started_at else None
    ran = (
        (job.finished_at - job.started_at).total_seconds()
        if job.finished_at and job.started_at
        else None
    )
    return Timings(
        created_at=job.created_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
        queued_s=queued,
        run_s=ran,
    )


# -- logs ---------------------------------------------------------------------------------
class SourceIngested(Model):
    """One source file as the ingest read it: the line of `journeyminer ingest`'s report."""

    file: str
    sha256: str
    events: int
    ids: int = Field(description="Distinct case ids of the file itself, before stitching.")
    ambiguous_times: int = Field(
        description="Local times in a fall-back hour (clocks show them twice), placed by the "
        "mapping's `ambiguous` rule (earliest, latest; raise refuses the file)."
    )


class LogPublic(Model):
    """A stored event log: its size, date range, activities and channels."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "log_3kT9xQ2bLm0a",
                    "name": "webshop-2024",
                    "status": "ready",
                    "version": 2,
                    "parts": 2,
                    "events": 14997,
                    "cases": 2741,
                    "journeys": 2741,
                    "customers": 1982,
                    "start": "2024-01-01T09:20:21.268000+00:00",
                    "end": "2024-12-30T20:11:07.000000+00:00",
                    "activities": ["ad_click", "checkout", "landing_page"],
                    "channels": ["call_center", "crm", "web"],
                    "mapping": {"sources": {"web.csv": {"preset": "web"}}, "gap": "30d"},
                    "error": None,
                    "ingested": [
                        {
                            "file": "web.csv",
                            "sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
                            "events": 14997,
                            "ids": 2741,
                            "ambiguous_times": 0,
                        }
                    ],
                    "created_at": _T0,
                    "updated_at": _T1,
                    "links": {"self": f"{API}/logs/log_3kT9xQ2bLm0a"},
                }
            ]
        }
    )

    id: str
    name: str
    status: Literal["pending", "ready", "failed"]
    version: int = Field(description="Grows by one with every appended part.")
    parts: int
    events: int
    cases: int
    journeys: int = Field(description="After stitching a journey is a case.")
    customers: int | None
    start: datetime | None
    end: datetime | None
    activities: list[str]
    channels: list[str]
    mapping: dict[str, Any] | None = Field(
        None, description="How the sources were read; appended batches reuse it."
    )
    error: dict[str, Any] | None = Field(None, description="Problem body if the ingest failed.")
    ingested: list[SourceIngested] = Field(
        default_factory=list,
        description="Each source file uploaded or appended over HTTP, in order, as read.",
    )
    created_at: datetime
    updated_at: datetime
    links: dict[str, str]

    @classmethod
    def of(cls, info: LogInfo) -> LogPublic:
        """From the store's LogInfo (its settings' report lines apart from the mapping)."""
        base = f"{API}/logs/{info.id}"
        data = info.to_dict()
        if data.get("mapping"):
            data["mapping"] = dict(data["mapping"])
            data["ingested"] = data["mapping"].pop(INGESTED, None) or []
        data["links"] = {
            "self": base,
            "events": f"{base}/events",
            "dfg": f"{base}/dfg",
            "variants": f"{base}/variants",
        }
        return cls.model_validate(data)


class LogList(Model):
    """The tenant's logs, newest first."""

    logs: list[LogPublic]


# -- maps ---------------------------------------------------------------------------------
class MapCreate(Model):
    """A designed journey map: its name and its text in TOML, JSON or YAML."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"name": "webshop", "format": "toml", "text": _MAP_TEXT}]},
    )

    name: str = Field(min_length=1, description="At most `JOURNEYMINER_MAX_NAME_CHARS`.")
    format: MapFormat = "toml"
    text: str = Field(min_length=1, max_length=1_000_000)


class MapUpdate(Model):
    """A new version of a map's text (format unchanged unless given)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"format": "toml", "text": _MAP_TEXT}]},
    )

    format: MapFormat | None = None
    text: str = Field(min_length=1, max_length=1_000_000)


class MapPublic(Model):
    """One version of a designed map, with its text."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "map_q0Zr1mVbLx2c",
                    "name": "webshop",
                    "version": 2,
                    "latest_version": 2,
                    "format": "toml",
                    "text": _MAP_TEXT,
                    "created_at": _T0,
                    "updated_at": _T1,
                    "links": {"self": f"{API}/maps/map_q0Zr1mVbLx2c"},
                }
            ]
        }
    )

    id: str
    name: str
    version: int
    latest_version: int
    format: MapFormat
    text: str
    created_at: datetime
    updated_at: datetime
    links: dict[str, str]

    @classmethod
    def of(cls, info: MapInfo) -> MapPublic:
        """From the store's MapInfo."""
        data = info.to_dict()
        data["links"] = {"self": f"{API}/maps/{info.id}"}
        return cls.model_validate(data)


class MapList(Model):
    """The tenant's maps (latest versions), by name."""

    maps: list[MapPublic]


# -- analyses -----------------------------------------------------------------------------
class AnalysisCreate(Model):
    """What to analyse: a log, optionally a map, the kind, filters and a segment attribute."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "log": "log_3kT9xQ2bLm0a",
                    "kind": "discover",
                    "filters": {"channels": ["web", "call_center"], "top_variants": 20},
                    "segment": "device",
                }
            ]
        },
    )

    log: str = Field(description="Id of a ready log.")
    map: str | None = Field(None, description="Id of a designed map (compare, drift).")
    map_version: int | None = Field(
        None, ge=1, le=MAX_VERSION, description="Default: the map's latest."
    )
    kind: AnalysisKind = "discover"
    filters: dict[str, Any] | None = Field(
        None,
        description="Filter fields as in the quick reads' query (JSON values); a segment "
        'value null selects the journeys without that attribute: {"segment": {"region": [null]}}.',
    )
    segment: str | None = Field(
        None, description="A case attribute: results are also given per value of it."
    )
    split_at: datetime | None = Field(
        None, description="Drift: where the first period ends (default: mid-way through the log)."
    )


class AnalysisPublic(Model):
    """An analysis job: status, progress and stage, timings and links to its result."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "job_e7mQxL2sPq9w",
                    "kind": "discover",
                    "status": "done",
                    "progress": 1.0,
                    "stage": "done",
                    "status_url": f"{API}/analyses/job_e7mQxL2sPq9w",
                    "log": "log_3kT9xQ2bLm0a",
                    "log_version": 2,
                    "map": None,
                    "filters": {"top_variants": 20},
                    "segment": None,
                    "cached": False,
                    "result": "res_8fQz1LmV0aXc",
                    "error": None,
                    "timings": {
                        "created_at": _T0,
                        "started_at": _T0,
                        "finished_at": _T1,
                        "queued_s": 0.0,
                        "run_s": 2.5,
                    },
                    "links": {
                        "self": f"{API}/analyses/job_e7mQxL2sPq9w",
                        "result": f"{API}/analyses/job_e7mQxL2sPq9w/result",
                    },
                }
            ]
        }
    )

    id: str
    kind: str
    status: JobStatus
    progress: float = Field(ge=0, le=1)
    stage: str | None
    status_url: str
    log: str
    log_version: int | None
    map: str | None
    map_version: int | None = None
    filters: dict[str, Any]
    segment: str | None
    cached: bool = Field(description="True when the result came from the cache.")
    result: str | None
    error: dict[str, Any] | None
    timings: Timings
    links: dict[str, str]

    @classmethod
    def of(cls, job: JobInfo) -> AnalysisPublic:
        """From the store's JobInfo of an analysis job."""
        base = f"{API}/analyses/{job.id}"
        links = {"self": base, "log": f"{API}/logs/{job.params['log']}"}
        if job.status == "done":
            links |= {
                "result": f"{base}/result",
                "result.parquet": f"{base}/result.parquet",
                "dfg.svg": f"{base}/dfg.svg",
                "overlay.svg": f"{base}/overlay.svg",
            }
        p = job.params
        return cls(
            id=job.id,
            kind=job.kind,
            status=job.status,  # type: ignore[arg-type]
            progress=job.progress,
            stage=job.stage,
            status_url=base,
            log=p["log"],
            log_version=p.get("log_version"),
            map=p.get("map"),
            map_version=p.get("map_version"),
            filters=p.get("filters") or {},
            segment=p.get("segment"),
            cached=bool(p.get("cached")),
            result=job.result_id,
            error=job.error,
            timings=timings(job),
            links=links,
        )


class AnalysisList(Model):
    """The tenant's recent analyses, newest first."""

    analyses: list[AnalysisPublic]


# -- quick reads and health ---------------------------------------------------------------
class DfgRead(Model):
    """The directly-follows graph of a (filtered) log, computed on request and cached."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "log": "log_3kT9xQ2bLm0a",
                    "version": 2,
                    "filters": {"channels": ["web"]},
                    "dfg": {
                        "edges": [
                            {
                                "source": "landing_page",
                                "target": "checkout",
                                "count": 120,
                                "mean": 310.5,
                                "median": 250.0,
                                "min": 3.0,
                                "max": 3600.0,
                                "stdev": 80.2,
                                "sum": 37260.0,
                            }
                        ],
                        "start": {"landing_page": 140},
                        "end": {"checkout": 120},
                    },
                }
            ]
        }
    )

    log: str
    version: int
    filters: dict[str, Any]
    dfg: dict[str, Any]


class VariantsRead(Model):
    """The variants of a (filtered) log, most frequent first, computed on request and cached."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "log": "log_3kT9xQ2bLm0a",
                    "version": 2,
                    "filters": {},
                    "n_cases": 2741,
                    "n_variants": 412,
                    "variants": [
                        {
                            "variant": 0,
                            "activities": ["landing_page", "checkout"],
                            "count": 300,
                            "share": 0.109,
                            "representative": "C000001#1",
                            "mean_duration": 400.0,
                            "median_duration": 320.0,
                        }
                    ],
                }
            ]
        }
    )

    log: str
    version: int
    filters: dict[str, Any]
    n_cases: int
    n_variants: int
    variants: list[dict[str, Any]]


class Health(Model):
    """Liveness or readiness."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"status": "ok", "checks": {"store": "ok"}}]}
    )

    status: Literal["ok", "unavailable"]
    checks: dict[str, str] = Field(default_factory=dict)
