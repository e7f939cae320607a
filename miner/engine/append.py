"""Appending new events to a stored dataset: only the partitions of their customers change.

`append_to_dataset(sources, LOG)` reads and maps the new sources as an ingest does, finds each
new event's customer (the identity table joined on the new source ids only), hashes the
customers with the dataset's stable hash (`part_of_keys`, the manifest's partition count) and
re-stitches only the *touched* partitions. The result is the dataset a full ingest of the
dataset's sources followed by the new ones (in that order: equal timestamps keep it) would
write with the same partition count, event for event (tested):

- **Re-stitching from stored events.** A touched partition's events of the touched customers
  are read back, given back their source id (the stored `source_id` column with an identity
  table; the `customer_id` or case id, which is the source id, without one), stitched again
  with the new events of those customers by `stitch_sources` with the dataset's gap and goals
  (`manifest.settings["stitching"]`), and their customer attributes attached again from the
  customer table. The stored order of a customer's events is their (time, input) order, so
  ties keep their order. The partition's other customers are kept as they are; cases merge
  back in id order. A log without stitching (case id = customer) takes the same path: its
  cases' events are merged in canonical order. Nothing new is stored for this (schema 1).
- **Tables.** A dataset stitched with an identity table or a customer table needs it again
  (a new version: it may grow). Source ids already stored must keep their customer; where a
  touched partition shows otherwise (a re-stitched customer no new event names) the append
  is refused: that needs a full ingest.
- **Dictionaries.** Codes index the manifest's sorted activity and channel lists. New events
  bringing no new name (the usual nightly case) leave untouched partitions alone. A new name
  (or a new attribute column, or an attribute whose type widens) rewrites the event file of
  every untouched partition: codes remapped, columns added or cast, no re-stitch; the case
  files stay. That costs a read and a write of the stored events, still far less than an
  ingest, and keeps every partition readable on its own without a translation on load.
- **Atomic.** New files get new names (`part-NNNNN-TOKEN.parquet`), are synced, then the new
  manifest replaces the old by an atomic rename, then the replaced files are deleted. An
  error before the rename deletes the new files and leaves the old dataset as it was; a
  crash leaves at worst unlisted files. A reader holding the old manifest may find its files
  gone once an append completes: open the dataset again (`open_dataset`).
"""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from ..errors import InputError
from ..ingest.customers import attach_customers, load_customers
from ..ingest.identities import CUSTOMER_ID, SOURCE_ID, load_identities
from ..ingest.limits import DEFAULT_LIMITS, SourceLimits, check_activities
from ..ingest.pipeline import SourceSpec, source_report
from ..ingest.stitch import stitch_sources
from ..ingest.stream import write_source
from ..log import ACTIVITY, CANONICAL, CASE, CHANNEL, NO_CHANNEL, START, TIMESTAMP
from .dataset import (
    ACT,
    ATTR,
    CHANNEL_CODE,
    EVENTS,
    Dataset,
    _fsync_dir,
    _runs,
    _write_parquet,
    _write_synced,
    coded_events,
    open_dataset,
)
from .hashing import part_of_keys
from .manifest import MANIFEST, Manifest, PartInfo

_ROW = "__append_row"
_PART = "__part"


def append_to_dataset(
    sources: Sequence[SourceSpec],
    dest: str | Path,
    *,
    identities: str | Path | None = None,
    customers: str | Path | None = None,
    progress: Callable[[str, int, int], None] | None = None,
    limits: SourceLimits = DEFAULT_LIMITS,
) -> dict[str, Any]:
    """Append the events of `sources` to the dataset folder `dest`; see the module docstring.

    Returns the report as JSON: each source's line (as ingest's), the events appended, the
    partitions touched (re-stitched) and rewritten (codes remapped), and the new totals.
    """
    dest = Path(dest)
    data = open_dataset(dest)
    gap, goals = _stitching(data.manifest, dest, identities, customers)
    table = load_identities(identities) if identities is not None else None
    attrs = load_customers(customers) if customers is not None else None
    total = len(sources) + 1
    per_source: list[dict[str, Any]] = []
    frames: list[pl.DataFrame] = []
    with tempfile.TemporaryDirectory(prefix=".append-", dir=dest.parent) as work:
        for n, source in enumerate(sources):
            if progress:
                progress(f"reading {source.path.name}", n, total)
            part = Path(work) / f"source-{n}.parquet"
            rows, _ = write_source(
                source.path, source.mapping, part, row_column=_ROW, limits=limits
            )
            per_source.append(
                source_report(pl.scan_parquet(part), source.path.name, rows, source.mapping)
            )
            frames.append(pl.read_parquet(part).sort(_ROW).drop(_ROW))
    if progress:
        progress("stitching", len(sources), total)
    new = pl.concat(frames, how="diagonal_relaxed")
    del frames
    if START in new.columns and not data.manifest.has_intervals:
        raise InputError(
            "the new events have start times, the dataset has none: ingest them all again",
            column=START,
            expected="sources without a start time column",
        )
    new = new.with_columns(_parts_of(new, table, data.n_parts).alias(_PART))
    plan = _Plan(data, new, table, attrs, gap, goals, [s.path.name for s in sources])
    check_activities(len(plan.activities), limits, file=None)
    written = plan.write()
    if progress:
        progress("done", total, total)
    m = written.manifest
    return {
        "log": str(dest),
        "sources": per_source,
        "appended_events": m.n_events - data.manifest.n_events,
        "touched_partitions": sorted(plan.touched),
        "rewritten_partitions": plan.rewritten,
        "partitions": m.n_parts,
        "events": m.n_events,
        "journeys": m.n_cases,
        "new_activities": sorted(set(m.activities) - set(data.activities)),
        "activities": list(m.activities),
        "channels": list(m.channels),
        "start": m.start,
        "end": m.end,
    }


def _stitching(
    manifest: Manifest, dest: Path, identities: Any, customers: Any
) -> tuple[timedelta | None, tuple[str, ...]]:
    """The dataset's gap and goals; InputError when it cannot take an append with these tables."""
    how = manifest.settings.get("stitching")
    if not isinstance(how, dict):
        raise InputError(
            f"{dest.name} does not say how it was stitched, so an append cannot re-stitch it",
            file=f"{dest.name}/{MANIFEST}",
            expected="a dataset written by journeyminer ingest",
        )
    for option, given, used in (
        ("--identities", identities, how.get("identities")),
        ("--customers", customers, how.get("customers")),
    ):
        if (given is None) != (used is None):
            said = f"was ingested with {used}" if used else "was ingested without one"
            raise InputError(
                f"{dest.name} {said}: an append needs the same kind of table ({option})",
                column=option,
                expected=f"{option} {used}" if used else f"no {option}",
                found=str(given) if given is not None else "none",
            )
    seconds = how.get("gap_seconds")
    gap = timedelta(seconds=seconds) if seconds is not None else None
    return gap, tuple(how.get("goals") or ())


def _parts_of(new: pl.DataFrame, table: pl.DataFrame | None, n_parts: int) -> pl.Series:
    """The partition of each new event: the hash of its customer, the identity table joined
    on the distinct new source ids only."""
    ids = new.select(pl.col(CASE).unique())
    if table is not None:
        ids = ids.join(
            table.rename({SOURCE_ID: CASE}), on=CASE, how="left", maintain_order="left"
        ).select(CASE, pl.coalesce(CUSTOMER_ID, CASE).alias(CUSTOMER_ID))
    else:
        ids = ids.with_columns(pl.col(CASE).alias(CUSTOMER_ID))
    ids = ids.with_columns(pl.Series(_PART, part_of_keys(ids.get_column(CUSTOMER_ID), n_parts)))
    return new.select(CASE).join(ids, on=CASE, how="left", maintain_order="left")[_PART]


class _Plan:
    """The new partitions of one append, built in memory a partition at a time, then written."""

    def __init__(
        self,
        data: Dataset,
        new: pl.DataFrame,
        table: pl.DataFrame | None,
        attrs: pl.DataFrame | None,
        gap: timedelta | None,
        goals: tuple[str, ...],
        names: list[str],
    ) -> None:
        self.data, self.new, self.table, self.attrs = data, new, table, attrs
        self.names = names
        self.gap, self.goals = gap, goals
        m = data.manifest
        self.key = m.partition_key  # customer_id, or case_id where the case is the customer
        # With an identity table the source id is stored; without, the customer is the source.
        self.source = SOURCE_ID if m.settings["stitching"].get("identities") else self.key
        self.customer_attrs = [
            c for c in (attrs.columns if attrs is not None else ()) if c != CUSTOMER_ID
        ]
        self.touched = {int(p) for p in new.get_column(_PART).unique()}
        acts = pl.concat(
            [pl.Series(m.activities, dtype=pl.String), new.get_column(ACTIVITY).drop_nulls()]
        )
        self.activities = tuple(acts.unique().sort())
        chans = pl.concat(
            [pl.Series(m.channels, dtype=pl.String), new.get_column(CHANNEL).cast(pl.String)]
        )
        self.channels = tuple(chans.drop_nulls().unique().sort())
        self.rewritten: list[int] = []

    def restitched(self, i: int) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
        """Partition `i` split: the stored events and cases of the customers the append leaves
        alone (coded, as stored), and the canonical frame of the touched ones, stitched again."""
        info = self.data.manifest.parts[i]
        events = self.data.read_file(info.file, None, info.events)
        cases = self.data.read_file(info.cases_file, [CASE, EVENTS], info.cases)
        lengths = cases.get_column(EVENTS).to_numpy()
        new = self.new.filter(pl.col(_PART) == i).drop(_PART)
        mine = new.get_column(CASE).unique()
        if self.table is not None:
            wanted = self.table.filter(pl.col(SOURCE_ID).is_in(mine.implode()))
            unmapped = mine.filter(~mine.is_in(wanted.get_column(SOURCE_ID).implode()))
            mine = pl.concat([wanted.get_column(CUSTOMER_ID), unmapped]).unique()
        if self.key == CASE:
            customer = cases.get_column(CASE)
        else:  # a customer's journeys share its customer_id: read it at each case's first event
            firsts = np.cumsum(lengths) - lengths
            customer = events.get_column(ATTR + self.key).gather(firsts)
        redo = customer.is_in(mine.implode()).to_numpy()
        rows = np.repeat(redo, lengths)
        again = self.data.decode(events.filter(rows), cases.filter(redo))
        drop = {CUSTOMER_ID, SOURCE_ID, *self.customer_attrs}
        again = again.with_columns(pl.col(self.source).alias(CASE)).drop(
            [c for c in again.columns if c in drop and c != CASE]
        )
        table = self.table
        if table is not None:
            ids = pl.concat([again.get_column(CASE), new.get_column(CASE)]).unique()
            table = table.filter(pl.col(SOURCE_ID).is_in(ids.implode()))
        log, _ = stitch_sources([again, new], table, gap=self.gap, goals=self.goals)
        if self.attrs is not None:
            on = CUSTOMER_ID if CUSTOMER_ID in log.frame.columns else CASE
            known = log.frame.get_column(on).unique().implode()
            log, _ = attach_customers(log, self.attrs.filter(pl.col(CUSTOMER_ID).is_in(known)))
        fresh = log.frame
        stray = fresh.select(pl.col(self.key).unique()).filter(
            ~pl.col(self.key).is_in(mine.implode())
        )
        if stray.height:
            raise InputError(
                f"the identity table maps stored source ids to another customer than at ingest "
                f"(customer {stray.item(0, 0)!r} would be re-stitched without new events)",
                column=SOURCE_ID,
                expected="an identity table that keeps the customer of every stored source id; "
                "else ingest all sources again",
            )
        return events.filter(~rows), cases.filter(~redo), fresh

    def write(self) -> Dataset:
        """Write the new files, install the new manifest, delete the replaced files."""
        m, folder = self.data.manifest, self.data.path
        token = uuid.uuid4().hex[:8]
        created: list[Path] = []
        infos = list(m.parts)
        try:
            touched = sorted(self.touched)
            first = self.restitched(touched[0])  # an append holds at least one event
            columns, schema = tuple(first[2].columns), dict(first[2].schema)
            attributes = [c for c in columns if c not in CANONICAL and c != START]
            for i in touched:
                kept_events, kept_cases, fresh = first if i == touched[0] else self.restitched(i)
                infos[i] = self._write_part(
                    i, kept_events, kept_cases, fresh, attributes, schema, token, created
                )
                del kept_events, kept_cases, fresh
            del first
            for i in range(m.n_parts):
                if i not in self.touched and self._stale(attributes, schema):
                    info = m.parts[i]
                    events = self.data.read_file(info.file, None, info.events)
                    infos[i] = replace(info, file=f"part-{i:05d}-{token}.parquet")
                    created.append(folder / infos[i].file)
                    _write_parquet(self._recoded(events, attributes, schema), created[-1])
                    self.rewritten.append(i)
            manifest = self._manifest(infos, columns, schema)
            tmp = folder / f".{MANIFEST}.{token}.tmp"
            created.append(tmp)
            _write_synced(tmp, lambda p: p.write_text(manifest.to_json(), encoding="utf-8"))
            _fsync_dir(folder)
            tmp.replace(folder / MANIFEST)
            created.pop()
        except BaseException:
            for path in created:
                path.unlink(missing_ok=True)
            raise
        _fsync_dir(folder)
        used = {n for p in infos for n in (p.file, p.cases_file)}
        for p in m.parts:
            for name in (p.file, p.cases_file):
                if name not in used:
                    (folder / name).unlink(missing_ok=True)
        return Dataset(folder, manifest)

    def _write_part(
        self,
        i: int,
        kept_events: pl.DataFrame,
        kept_cases: pl.DataFrame,
        fresh: pl.DataFrame,
        attributes: list[str],
        schema: dict[str, pl.DataType],
        token: str,
        created: list[Path],
    ) -> PartInfo:
        """Partition `i` written again: the kept cases (coded as stored, recoded where the
        dictionaries or columns changed) and the fresh ones, merged in case id order."""
        coded = [
            self._recoded(kept_events, attributes, schema),
            coded_events(fresh, self.activities, self.channels, attributes),
        ]
        runs = fresh.select(pl.col(CASE).rle()).unnest(CASE)
        cases = pl.concat(
            [
                kept_cases,
                runs.select(
                    pl.col("value").cast(pl.String).alias(CASE),
                    pl.col("len").cast(pl.Int64).alias(EVENTS),
                ),
            ]
        )
        lengths = cases.get_column(EVENTS).to_numpy()
        starts = np.cumsum(lengths) - lengths
        order = cases.get_column(CASE).arg_sort().to_numpy()  # case ids are unique
        events = pl.concat(coded)[_runs(starts[order], lengths[order])]
        cases = cases[order]
        info = PartInfo(
            file=f"part-{i:05d}-{token}.parquet",
            cases_file=f"cases-{i:05d}-{token}.parquet",
            events=events.height,
            cases=cases.height,
        )
        created.append(self.data.path / info.file)
        _write_parquet(events, created[-1])
        created.append(self.data.path / info.cases_file)
        _write_parquet(cases, created[-1])
        return info

    def _stale(self, attributes: list[str], schema: dict[str, pl.DataType]) -> bool:
        """Whether stored partitions need their event files rewritten (not re-stitched)."""
        m = self.data.manifest
        return (
            self.activities != m.activities
            or self.channels != m.channels
            or attributes != list(m.attributes)
            or any(str(schema[a]) != m.attributes.get(a) for a in attributes)
        )

    def _recoded(
        self, events: pl.DataFrame, attributes: list[str], schema: dict[str, pl.DataType]
    ) -> pl.DataFrame:
        """Stored `events` in the new dictionaries and columns (as they are when unchanged)."""
        m = self.data.manifest
        fixed = events
        if self.activities != m.activities or self.channels != m.channels:
            acts = _remap(m.activities, self.activities)
            chans = _remap(m.channels, self.channels)
            code = events.get_column(CHANNEL_CODE).to_numpy().astype(np.int64)
            channel = np.where(code == NO_CHANNEL, NO_CHANNEL, chans[np.maximum(code, 0)])
            fixed = fixed.with_columns(
                pl.Series(ACT, acts[events.get_column(ACT).to_numpy()]).cast(pl.Int32),
                pl.Series(CHANNEL_CODE, channel).cast(pl.Int8),
            )
        return fixed.select(
            *[c for c in events.columns if not c.startswith(ATTR)],
            *[
                (
                    pl.col(ATTR + a).cast(schema[a])
                    if ATTR + a in events.columns
                    else pl.lit(None, dtype=schema[a]).alias(ATTR + a)
                )
                for a in attributes
            ],
        )

    def _manifest(
        self, infos: list[PartInfo], columns: tuple[str, ...], schema: dict[str, pl.DataType]
    ) -> Manifest:
        m = self.data.manifest
        times = self.new.get_column(TIMESTAMP).drop_nulls()
        first, last = times.min(), times.max()  # datetimes, or None without events
        starts = [t for t in (_when(m.start), first) if isinstance(t, datetime)]
        ends = [t for t in (_when(m.end), last) if isinstance(t, datetime)]
        settings = dict(m.settings)
        settings["sources"] = [*settings.get("sources", []), *self.names]
        return replace(
            m,
            n_events=sum(p.events for p in infos),
            n_cases=sum(p.cases for p in infos),
            start=min(starts).isoformat() if starts else None,
            end=max(ends).isoformat() if ends else None,
            activities=self.activities,
            channels=self.channels,
            columns=columns,
            attributes={c: str(schema[c]) for c in columns if c not in CANONICAL and c != START},
            parts=tuple(infos),
            settings=settings,
        )


def _remap(old: tuple[str, ...], new: tuple[str, ...]) -> np.ndarray:
    """int64[len(old)]: the code in `new` of each name of `old`."""
    index = {name: n for n, name in enumerate(new)}
    return np.array([index[name] for name in old] or [0], dtype=np.int64)


def _when(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text is not None else None
