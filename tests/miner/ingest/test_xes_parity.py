"""XES parity: read_source gives the events pm4py.read_xes gives, timestamps compared in UTC."""

from __future__ import annotations

import gzip
import random
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from xml.sax.saxutils import quoteattr

import polars as pl
import pytest

from journeyminer.miner.ingest.readers import read_source
from journeyminer.miner.log import EventLog
from tests.conftest import dev_dependency

pm4py = dev_dependency("pm4py")  # fails, never skips, without it
pytestmark = pytest.mark.parity

DATA = Path(__file__).resolve().parents[2] / "data" / "sources"
NAMES = ["Zoek prodükt", "注文", 'Bestelling "snel", geplaatst', "Bel ☎", "a<b & c>d", "home"]
OFFSETS = [timedelta(hours=1), timedelta(hours=2), timedelta(hours=-5), timedelta(0)]


def _generated_xes(path: Path, seed: int = 7, n_traces: int = 60) -> Path:
    """A seeded XES log: offsets that change mid-trace, equal timestamps, unicode names."""
    rng = random.Random(seed)
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<log xes.version="1.0" xmlns="http://www.xes-standard.org/">',
    ]
    start = datetime(2024, 3, 30, 22, 0, tzinfo=UTC)
    for t in range(n_traces):
        lines += ["<trace>", f'<string key="concept:name" value="case-{t:03d} ✓"/>']
        moment = start + timedelta(minutes=rng.randrange(0, 600))
        for _ in range(rng.randrange(1, 7)):
            if rng.random() > 0.3:  # else: equal to the previous timestamp
                moment += timedelta(
                    seconds=rng.randrange(1, 5000), microseconds=1000 * rng.randrange(1000)
                )
            local = moment.astimezone(timezone(rng.choice(OFFSETS)))
            stamp = local.isoformat(timespec="milliseconds")
            lines += [
                "<event>",
                f'<string key="concept:name" value={quoteattr(rng.choice(NAMES))}/>',
                f'<string key="lifecycle:transition" value="{rng.choice(["start", "complete"])}"/>',
                f'<date key="time:timestamp" value="{stamp}"/>',
                "</event>",
            ]
        lines.append("</trace>")
    lines.append("</log>")
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def _ours(path: Path) -> pl.DataFrame:
    frame = read_source(path)
    return frame.select(
        "case_id", "activity", pl.col("timestamp").dt.epoch("us").alias("us"), "lifecycle"
    )


def _pm4py(path: Path, variant: str | None) -> pl.DataFrame:
    df = pm4py.read_xes(str(path), variant=variant) if variant else pm4py.read_xes(str(path))
    ts = df["time:timestamp"].dt.tz_convert("UTC").dt.tz_localize(None).astype("datetime64[us]")
    lifecycle = df.get("lifecycle:transition")
    return pl.DataFrame(
        {
            "case_id": df["case:concept:name"].astype(str).tolist(),
            "activity": df["concept:name"].astype(str).tolist(),
            "us": ts.astype("int64").tolist(),
            "lifecycle": [None if v is None or v != v else str(v) for v in lifecycle]
            if lifecycle is not None
            else [None] * len(df),
        },
        schema={
            "case_id": pl.String,
            "activity": pl.String,
            "us": pl.Int64,
            "lifecycle": pl.String,
        },
    )


def _paths(tmp_path: Path) -> list[Path]:
    generated = _generated_xes(tmp_path / "generated.xes")
    gz = tmp_path / "generated.xes.gz"
    gz.write_bytes(gzip.compress(generated.read_bytes()))
    return [DATA / "journeys.xes", generated, gz]


@pytest.mark.parametrize("variant", [None, "iterparse"])
def test_xes_events_equal_pm4py_read_xes(tmp_path: Path, variant: str | None) -> None:
    for path in _paths(tmp_path):
        ours, theirs = _ours(path), _pm4py(path, variant)
        assert ours.height == theirs.height
        assert ours.get_column("case_id").n_unique() == theirs.get_column("case_id").n_unique()
        assert set(ours.get_column("activity")) == set(theirs.get_column("activity"))
        assert ours.equals(theirs), path.name


def test_sorted_event_log_equals_pm4py_format_dataframe(tmp_path: Path) -> None:
    for path in _paths(tmp_path)[:2]:
        log = EventLog(read_source(path))
        df = pm4py.format_dataframe(
            pm4py.read_xes(str(path), variant="iterparse"),
            case_id="case:concept:name",
            activity_key="concept:name",
            timestamp_key="time:timestamp",
        )
        ours = log.frame.select("case_id", "activity", pl.col("timestamp").dt.epoch("us"))
        theirs = pl.DataFrame(
            {
                "case_id": df["case:concept:name"].astype(str).tolist(),
                "activity": df["concept:name"].astype(str).tolist(),
                "timestamp": df["time:timestamp"]
                .dt.tz_convert("UTC")
                .dt.tz_localize(None)
                .astype("datetime64[us]")
                .astype("int64")
                .tolist(),
            }
        )
        assert ours.equals(theirs), path.name
