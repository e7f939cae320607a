"""The report of a batch run: what it appended, computed and checked; `run.json` and `--json`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class RunReport:
    """What a run did; `to_dict()` is the `--json` output and `run.json`."""

    job: str
    job_file: str
    workspace: str
    tenant: str
    log: dict[str, Any] = field(default_factory=dict)
    dry_run: bool = False
    batches: list[dict[str, Any]] = field(default_factory=list)
    stitch: dict[str, Any] = field(default_factory=dict)
    analyses: list[dict[str, Any]] = field(default_factory=list)
    thresholds: list[dict[str, Any]] = field(default_factory=list)
    outputs: dict[str, str] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    @property
    def breached(self) -> list[dict[str, Any]]:
        """The thresholds that failed."""
        return [t for t in self.thresholds if not t["ok"]]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready report."""
        count = {s: sum(b["status"] == s for b in self.batches) for s in ("added", "skipped")}
        return {
            "job": self.job,
            "job_file": self.job_file,
            "workspace": self.workspace,
            "tenant": self.tenant,
            "log": self.log,
            "dry_run": self.dry_run,
            "batches_added": count["added"],
            "batches_skipped": count["skipped"],
            "batches": self.batches,
            "events": self.stitch.get("events"),
            "journeys": self.stitch.get("journeys"),
            "customers": self.stitch.get("customers"),
            "analyses": self.analyses,
            "thresholds": self.thresholds,
            "breached": self.breached,
            "outputs": self.outputs,
            "timings": {k: round(v, 4) for k, v in self.timings.items()},
            "warnings": self.warnings,
        }
