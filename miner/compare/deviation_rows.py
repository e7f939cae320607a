"""The rows of `Comparison.deviations`, and what is summed from them without building them.

A journey's deviations are its variant's records (`miner.compare.deviations`), then its time frames
and rules (`miner.compare.windows`), then its drop-off. `journey_deviations` lays them out per journey
(millions of rows, built on first access); `DeviationRows` keeps a variant's records once for
all its journeys, which is enough for the deviation summary and for `priorities`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from ...kernels import cases as kj
from ...kernels import replay as k
from ..arrays import list_series
from ..log import CASE
from .cases import PerCase
from .deviations import FIT_BREAKERS, TYPES, MapCodes, Replayed
from .priorities import JOURNEY_SET_SEED
from .windows import Windows

DEVIATION_SCHEMA: dict[str, Any] = {
    CASE: pl.String,
    "type": pl.String,
    "position": pl.Int64,
    "touchpoint": pl.String,
    "from": pl.String,
    "to": pl.String,
    "phase": pl.String,
    "detail": pl.String,
}


def journey_deviations(
    codes: MapCodes, rp: Replayed, pc: PerCase, win: Windows, cases: pl.DataFrame
) -> pl.DataFrame:
    """Every journey's deviations: its variant's records, then time frames, rules, drop-off."""
    rec = rp.records
    n_rec = np.bincount(rec.get_column("unit").to_numpy(), minlength=rp.rep.size)
    rec_start = np.cumsum(n_rec) - n_rec
    count = n_rec[rp.var]
    row_start = np.cumsum(count) - count
    rows = np.repeat(rec_start[rp.var] - row_start, count) + np.arange(count.sum())
    inherited = rec.select(pl.all().gather(rows)).with_columns(
        unit=pl.Series(np.repeat(np.arange(rp.var.size, dtype=np.int64), count))
    )
    dropped = np.flatnonzero(pc.dropped)
    n_events = pc.n_events
    last_phase = rp.last_phase[rp.var]
    leaks = pl.DataFrame(
        {
            "unit": dropped,
            "position": n_events[dropped] - 1,
            "type": np.full(dropped.size, k.DROP_OFF),
            "touchpoint": pc.last_act[dropped],
            "from": np.full(dropped.size, -1),
            "to": np.full(dropped.size, -1),
            "phase": last_phase[dropped],
            "detail": pl.repeat(None, dropped.size, dtype=pl.String, eager=True),
        },
        schema=rec.schema,
    )
    every = pl.concat([inherited, win.records, leaks]).sort(
        "unit", "position", "type", maintain_order=True
    )
    unit = every.get_column("unit").to_numpy()
    return pl.DataFrame(
        {
            CASE: cases.get_column(CASE).gather(unit),
            "type": pl.Series(TYPES, dtype=pl.String).gather(every.get_column("type")),
            "position": every.get_column("position"),
            "touchpoint": codes.decode(every.get_column("touchpoint")),
            "from": codes.decode(every.get_column("from")),
            "to": codes.decode(every.get_column("to")),
            "phase": codes.decode_phase(every.get_column("phase")),
            "detail": every.get_column("detail"),
        },
        schema=DEVIATION_SCHEMA,
    )


def deviation_tables(
    rp: Replayed, win: Windows, pc: PerCase, codes: MapCodes, case_ids: pl.Series, examples: int
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The deviation summary and the deviations grouped for `priorities`."""
    rows = DeviationRows.of(rp, win, pc)
    return rows.summary(case_ids.len()), rows.grouped(codes, case_ids, examples)


_CODE_COLUMNS = ("type", "touchpoint", "from", "to", "phase")


@dataclass(frozen=True, eq=False)
class DeviationRows:
    """The rows of `Comparison.deviations` except drop-offs, without repeating them per journey.

    A variant's records stand once for all its journeys (group = variant id); time-frame and
    rule records for their journey alone (group = n_variants + case index). Arrays [r] in extended
    codes, ordered as the rows first appear in the per-journey frame: by (first journey of the
    group, position, type, variant records before case records, record order).
    """

    codes: dict[str, np.ndarray]  # type, touchpoint, from, to, phase
    group: np.ndarray  # int64
    size: np.ndarray  # int64 journeys in the group
    closed: np.ndarray  # int64 closed journeys in the group
    converted: np.ndarray  # int64 converted (closed) journeys in the group
    after_goal: np.ndarray  # bool: the record lies after its journey's (variant's) first goal
    var: np.ndarray  # int64[n_cases]: variant of each case
    variant_size: np.ndarray  # int64[n_variants]: journeys per variant
    n_variants: int
    n_dropped: int

    @classmethod
    def of(cls, rp: Replayed, win: Windows, pc: PerCase) -> DeviationRows:
        k_var = rp.rep.size
        closed = ~pc.in_progress
        size = np.bincount(pc.var, minlength=k_var)
        n_closed = np.bincount(pc.var[closed], minlength=k_var)
        n_conv = np.bincount(pc.var[pc.converted & closed], minlength=k_var)
        names = (*_CODE_COLUMNS, "position", "unit")
        v = {c: _int64(rp.records.get_column(c)) for c in names}
        w = {c: _int64(win.records.get_column(c)) for c in names}
        vu, wu = v["unit"], w["unit"]
        first = np.concatenate([rp.rep[vu], wu])
        position = np.concatenate([v["position"], w["position"]])
        typ = np.concatenate([v["type"], w["type"]])
        src = np.concatenate([np.zeros(vu.size, np.int64), np.ones(wu.size, np.int64)])
        span = int(position.max()) + 1 if position.size else 1
        if (pc.var.size + 1) * span * k.N_TYPES * 2 < 1 << 62:  # one packed key, stable sort
            packed = ((first * span + position) * k.N_TYPES + typ) * 2 + src
            order = np.argsort(packed, kind="stable")
        else:
            idx = np.concatenate([np.arange(vu.size), np.arange(wu.size)])
            order = np.lexsort((idx, src, typ, position, first))
        return cls(
            codes={c: np.concatenate([v[c], w[c]])[order] for c in _CODE_COLUMNS},
            group=np.concatenate([vu, k_var + wu])[order],
            size=np.concatenate([size[vu], np.ones(wu.size, np.int64)])[order],
            closed=np.concatenate([n_closed[vu], closed[wu].astype(np.int64)])[order],
            converted=np.concatenate([n_conv[vu], (pc.converted & closed)[wu].astype(np.int64)])[
                order
            ],
            after_goal=_after(position, np.concatenate([rp.goal_pos[vu], pc.goal[wu]]))[order],
            var=pc.var,
            variant_size=size,
            n_variants=k_var,
            n_dropped=int(pc.dropped.sum()),
        )

    def summary(self, n_cases: int) -> pl.DataFrame:
        """Per deviation type: journeys with it, their share, and occurrences (rows)."""
        typ = self.codes["type"]
        variant = self.group < self.n_variants
        seen = np.zeros((self.n_variants, k.N_TYPES), dtype=bool)  # (variant, type) pairs
        seen[self.group[variant], typ[variant]] = True
        journeys = (seen * self.variant_size[:, None]).sum(axis=0, dtype=np.int64)
        case_pairs = np.unique(self.group[~variant] * k.N_TYPES + typ[~variant])  # one per case
        journeys += np.bincount(case_pairs % k.N_TYPES, minlength=k.N_TYPES)
        occurrences = np.bincount(typ, weights=self.size, minlength=k.N_TYPES)
        journeys[k.DROP_OFF] += self.n_dropped
        occurrences[k.DROP_OFF] += self.n_dropped
        got = pl.DataFrame(
            {
                "type": list(TYPES),
                "journeys": journeys,
                "occurrences": occurrences.astype(np.int64),
            },
            schema={"type": pl.String, "journeys": pl.Int64, "occurrences": pl.Int64},
        )
        return got.select(
            "type",
            pl.col("journeys").alias("count"),
            (pl.col("journeys") / max(n_cases, 1)).alias("share"),
            "occurrences",
            pl.col("type").is_in(FIT_BREAKERS).alias("breaks_fit"),
        )

    def _key_ids(self, codes: MapCodes) -> tuple[np.ndarray, np.ndarray, int]:
        """Rows ordered by key (in order of first appearance), then by row: (key id of each,
        row indexes, number of keys)."""
        width = len(codes.names) + 1
        n_phase = len(codes.designed.phases) + 1
        if k.N_TYPES * width**3 * n_phase < 1 << 62:
            c = self.codes
            packed = c["type"] * width + c["touchpoint"] + 1
            for name, span in (("from", width), ("to", width), ("phase", n_phase)):
                packed = packed * span + c[name] + 1
            rows = np.argsort(packed, kind="stable")
            ordered = packed[rows]
            new = np.ones(rows.size, dtype=bool)
            new[1:] = ordered[1:] != ordered[:-1]
            run = np.cumsum(new) - 1  # id of each distinct key in key order
            rank = np.empty(int(new.sum()), dtype=np.int64)  # key order -> first-appearance
            rank[np.argsort(rows[new], kind="stable")] = np.arange(rank.size)
            gid = rank[run]
            by = np.argsort(gid, kind="stable")  # keys in order of first appearance
            return gid[by], rows[by], rank.size
        keys = pl.DataFrame({c: self.codes[c] for c in _CODE_COLUMNS})
        per = keys.with_row_index("_row").group_by(_CODE_COLUMNS, maintain_order=True).agg("_row")
        lengths = per.get_column("_row").list.len().to_numpy().astype(np.int64)
        rows = per.get_column("_row").explode().to_numpy().astype(np.int64)
        gid = np.repeat(np.arange(lengths.size, dtype=np.int64), lengths)
        return gid, rows, lengths.size

    def grouped(self, codes: MapCodes, case_ids: pl.Series, examples: int) -> pl.DataFrame:
        """Per (type, touchpoint, from, to, phase) in order of first appearance: journeys,
        closed, converted, the first `examples` journeys' case ids and the fingerprint of its
        journeys (`journey_set`), as `priorities` has."""
        r = self.group.size
        gid, rows, n_keys = self._key_ids(codes)
        group = self.group[rows]
        new = np.ones(r, dtype=bool)  # a group's rows of one key are adjacent: count it once
        new[1:] = (gid[1:] != gid[:-1]) | (group[1:] != group[:-1])
        lengths = np.bincount(gid, minlength=n_keys)

        def per_key(values: np.ndarray) -> np.ndarray:
            return np.bincount(gid, weights=values, minlength=n_keys).astype(np.int64)

        # Example journeys: the first `examples` of each group are enough, a row counting its
        # group's journeys once more (as the per-journey rows do); the smallest per key.
        e = max(examples, 0)
        first = kj.first_cases(self.var, self.n_variants, e)
        smallest = kj.smallest_cases(gid, group, first, self.n_variants, n_keys)
        kept = smallest >= 0
        offsets = np.zeros(n_keys + 1, dtype=np.int64)
        np.cumsum(kept.sum(axis=1), out=offsets[1:])
        cand = smallest[kept]
        head = rows[np.cumsum(lengths) - lengths] if n_keys else rows[:0]
        # The set of journeys of each key: the sum (mod 2**64) of their case ids' hashes, each
        # group counted once; a variant's group stands for all of its journeys.
        hashes = case_ids.hash(JOURNEY_SET_SEED).to_numpy()
        per_variant = np.zeros(self.n_variants, dtype=np.uint64)
        np.add.at(per_variant, self.var, hashes)
        own = self.group >= self.n_variants
        row_set = np.empty(r, dtype=np.uint64)
        row_set[~own] = per_variant[self.group[~own]]
        row_set[own] = hashes[self.group[own] - self.n_variants]
        journey_set = np.zeros(n_keys, dtype=np.uint64)
        np.add.at(journey_set, gid[new], row_set[rows[new]])
        key = {c: self.codes[c][head] for c in _CODE_COLUMNS}
        return pl.DataFrame(
            {
                "type": pl.Series(TYPES, dtype=pl.String).gather(key["type"]),
                "touchpoint": codes.decode(key["touchpoint"]),
                "from": codes.decode(key["from"]),
                "to": codes.decode(key["to"]),
                "phase": codes.decode_phase(key["phase"]),
                "journeys": per_key(self.size[rows] * new),
                "closed": per_key(self.closed[rows] * new),
                "converted": per_key(self.converted[rows] * new),
                "examples": list_series(offsets, case_ids.gather(cand)),
                "journey_set": journey_set,
                "after_goal": per_key(~self.after_goal[rows]) == 0,
            },
            schema={c: pl.String for c in _CODE_COLUMNS}
            | {c: pl.Int64 for c in ("journeys", "closed", "converted")}
            | {"examples": pl.List(pl.String), "journey_set": pl.UInt64, "after_goal": pl.Boolean},
        )


def _after(position: np.ndarray, goal: np.ndarray) -> np.ndarray:
    # After the goal: the journey had converted before this deviation (at the goal is not after).
    return (goal >= 0) & (position > goal)


def _int64(column: pl.Series) -> np.ndarray:
    return np.asarray(column.to_numpy(), dtype=np.int64)
