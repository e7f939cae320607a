"""Deviations from a designed map, found by the replay kernels: per variant, then per case.

`replay_log` checks each variant once and returns its verdict and deviation records, in
activity codes extended by the map's touchpoints the log never shows (`MapCodes`), so a
skipped touchpoint that is absent from the log still has a name. Time frames and rules,
which need timestamps, are measured per case in `miner.compare.windows`. The meaning of each
deviation type is in `miner.compare.comparison`.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

from ...kernels import replay as k
from ...kernels.variants import case_variants, variant_order
from ..arrays import list_series
from ..log import EncodedLog
from ..maps.designed import DesignedMap

TYPES = (
    "wrong_start",
    "unknown_touchpoint",
    "unexpected_transition",
    "skipped_touchpoint",
    "phase_regression",
    "rework",
    "time_frame_breach",
    "rule_breach",
    "drop_off",
)  # indexed by the kernels' type codes
FIT_BREAKERS = (
    "unknown_touchpoint",
    "unexpected_transition",
    "skipped_touchpoint",
    "wrong_start",
    "drop_off",
)
FIT_MASK = sum(1 << TYPES.index(t) for t in FIT_BREAKERS)
PATH_MASK = FIT_MASK & ~(1 << k.DROP_OFF)  # the fit breakers a variant decides alone
US = 1_000_000
# Deviation records in codes: `unit` is a sorted variant id or a case index.
RECORD_SCHEMA = {
    "unit": pl.Int64,
    "position": pl.Int64,
    "type": pl.Int64,
    "touchpoint": pl.Int64,
    "from": pl.Int64,
    "to": pl.Int64,
    "phase": pl.Int64,
    "detail": pl.String,
}


class MapCodes:
    """The log's activity codes extended by the map's absent touchpoints, and the map arrays."""

    def __init__(self, designed: DesignedMap, activities: tuple[str, ...]) -> None:
        acts = list(activities)
        present = set(acts)
        self.designed = designed
        self.n_act = len(acts)
        self.names = acts + [t.id for t in designed.touchpoints if t.id not in present]
        self.code = {a: i for i, a in enumerate(self.names)}
        self.allowed = designed.transition_matrix(acts, repeats=True)
        self.phase = designed.phase_codes(acts)
        self.start = designed.mask(acts, designed.observable_start)
        self.goal = designed.mask(acts, designed.goal)
        self.phase_of_code = designed.phase_codes(self.names)
        self.name_series = pl.Series("name", self.names, dtype=pl.String)
        self.phase_series = pl.Series("phase", [p.id for p in designed.phases], dtype=pl.String)
        # The same with a null in front: decoding code + 1 maps -1 to null in one gather.
        self._names_or_null = pl.Series("name", [None, *self.names], dtype=pl.String)
        self._phases_or_null = pl.Series("phase", [None, *self.phase_series], dtype=pl.String)

    def log_code(self, name: str | None) -> int:
        """Code of an activity the log shows; -1 for None or one the log never shows."""
        c = self.code.get(name, -1) if name is not None else -1
        return c if c < self.n_act else -1

    def ext_code(self, name: str | None) -> int:
        """Extended code of a log activity or map touchpoint; -1 for None."""
        return self.code[name] if name is not None else -1

    def decode(self, codes: np.ndarray | pl.Series) -> pl.Series:
        """Names of extended codes; null for -1."""
        return self._names_or_null.gather(codes + 1)

    def decode_phase(self, codes: np.ndarray | pl.Series) -> pl.Series:
        """Phase ids of phase positions; null for -1."""
        return self._phases_or_null.gather(codes + 1)


def gather_or_null(names: pl.Series, codes: np.ndarray | pl.Series) -> pl.Series:
    """names[codes], null where a code is negative."""
    idx = pl.Series(codes, dtype=pl.Int64) if isinstance(codes, np.ndarray) else codes
    return names.gather(idx.set(idx < 0, None))


def small_unique(values: np.ndarray, limit: int = 1 << 20) -> tuple[np.ndarray, np.ndarray]:
    """`np.unique(values, return_inverse=True)` of a 1-d integer array; a table lookup (no sort,
    no hashing) when every value lies in 0..limit-1, as bit masks of a few types or channels do."""
    if values.size and values.min() >= 0 and values.max() < limit:
        present = np.zeros(int(values.max()) + 1, dtype=bool)
        present[values] = True
        distinct = np.flatnonzero(present).astype(values.dtype)
        slot = np.cumsum(present, dtype=np.intp) - 1
        return distinct, slot[values]
    distinct, inverse = np.unique(values, return_inverse=True)
    return distinct, inverse.ravel()


def type_lists(masks: np.ndarray) -> pl.Series:
    """Sorted type names of each bit mask; built once per distinct mask, then gathered."""
    return bit_lists(masks, TYPES, sort=True)


def bit_lists(masks: np.ndarray, names: Sequence[str], *, sort: bool = False) -> pl.Series:
    """The names of the set bits of each bit mask (int64 or uint64) as a list column, in bit
    order (or sorted); each distinct list is built once, then gathered."""

    def names_of(mask: int) -> list[str]:
        got = [names[b] for b in range(len(names)) if mask >> b & 1]
        return sorted(got) if sort else got

    top = int(masks.max()) if masks.size else 0
    if masks.size and masks.min() >= 0 and top < 1 << 12:  # one list per possible mask
        lists = [names_of(m) for m in range(top + 1)]
        return pl.Series(lists, dtype=pl.List(pl.String)).gather(masks.astype(np.int64))
    distinct, inverse = small_unique(masks)
    lists = [names_of(m) for m in distinct.tolist()]
    return pl.Series(lists, dtype=pl.List(pl.String)).gather(inverse.ravel())


# -- variants -------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class Replayed:
    """Each variant's verdict (ids sorted like `discover_variants`) and its deviation records."""

    var: np.ndarray  # int64[n_cases]: variant id of each case
    rep: np.ndarray  # int64[k]: representative case of each variant (its first)
    sequences: tuple[np.ndarray, np.ndarray]  # int32 codes of the variants end to end, offsets
    flags: np.ndarray  # int64[k]: bit (1 << type) per deviation type found
    goal_pos: np.ndarray  # int64[k]: position of the first goal event, -1
    last_phase: np.ndarray  # int64[k]: phase of the last mapped touchpoint, -1
    max_phase: np.ndarray  # int64[k]: furthest phase reached, -1
    records: pl.DataFrame  # RECORD_SCHEMA, unit = variant, sorted by (unit, position, type)
    variants: pl.DataFrame  # variant, activities, count, fits_path, converted, signature, ...
    variant_acts: pl.DataFrame  # variant, activity: distinct activities of each variant
    variant_act_codes: np.ndarray  # int64[2, a]: the same pairs as (variant, activity code)


def replay_log(enc: EncodedLog, codes: MapCodes) -> Replayed:
    """Check each variant once against the map; skipped steps from one BFS per source."""
    variant_of, count, first_case, _ = case_variants(enc.offsets, enc.act)
    # The variants' sequences copied end to end (first cases ascend: one forward pass), so the
    # kernels below walk a few MB instead of jumping through the whole log.
    seq_offsets, seq = take_cases(enc.offsets, enc.act, first_case)
    return replay_sequences(variant_of, count, first_case, seq_offsets, seq, codes)


def replay_sequences(
    variant_of: np.ndarray,
    count: np.ndarray,
    first_case: np.ndarray,
    seq_offsets: np.ndarray,
    seq: np.ndarray,
    codes: MapCodes,
) -> Replayed:
    """`replay_log` from the log's variants as `case_variants` numbers them (by first
    appearance): each case's variant (int64[n_cases]), each variant's count and first case
    (int64[k]) and its activity codes end to end (`seq_offsets` int64[k + 1], `seq` int32)."""
    order = variant_order(seq_offsets, seq, count, np.arange(count.size, dtype=np.int64))
    new_id = np.empty(order.size, dtype=np.int64)
    new_id[order] = np.arange(order.size, dtype=np.int64)
    rep, count = first_case[order], count[order]
    rec, flags, goal_pos, last_known, max_phase = k.replay_variants(
        seq_offsets, seq, order, codes.allowed, codes.phase, codes.start, codes.goal
    )
    skipped = _skipped(seq_offsets, seq, codes, order, rec)
    if skipped.shape[1]:
        flags = flags.copy()
        flags[skipped[0]] |= 1 << k.SKIPPED  # repeated indexes set the same bit
        rec = k.merge_records(rec, skipped)
    list_offsets, acts = take_cases(seq_offsets, seq, order)  # now in sorted order
    last_phase = np.full(rep.size, -1, dtype=np.int64)
    has = last_known >= 0
    last_phase[has] = codes.phase[acts[list_offsets[:-1][has] + last_known[has]]]
    width = max(codes.n_act, 1)
    var_of_flat = np.repeat(np.arange(rep.size, dtype=np.int64), np.diff(list_offsets))
    if rep.size * width <= 1 << 27:  # distinct (variant, activity), sorted: a bit table
        seen = np.zeros((rep.size, width), dtype=bool)
        seen[var_of_flat, acts] = True
        distinct = np.flatnonzero(seen.ravel()).astype(np.int64)
    else:
        distinct = np.unique(var_of_flat * width + acts)
    phase_code = np.where(rec[3] >= 0, rec[3], rec[5])
    records = pl.DataFrame(
        {
            "unit": rec[0],
            "position": rec[1],
            "type": rec[2],
            "touchpoint": rec[3],
            "from": rec[4],
            "to": rec[5],
            "phase": np.where(phase_code >= 0, codes.phase_of_code[phase_code], -1),
            "detail": pl.Series(rec[6]).cast(pl.String),
        },
        schema=RECORD_SCHEMA,
    )
    rework = pl.col("type") == k.REWORK
    records = records.with_columns(
        pl.when(rework).then("seen " + pl.col("detail") + " times").alias("detail")
    )
    variants = pl.DataFrame(
        {
            "variant": np.arange(rep.size, dtype=np.int64),
            "activities": list_series(list_offsets, codes.name_series.gather(acts)),
            "count": count,
            "fits_path": (flags & PATH_MASK) == 0,
            "converted": goal_pos >= 0,
            "signature": _signatures(codes, rec, rep.size),
            "deviation_types": type_lists(flags),
        }
    )
    return Replayed(
        var=new_id[variant_of],
        rep=rep,
        sequences=(acts, list_offsets),
        flags=flags,
        goal_pos=goal_pos,
        last_phase=last_phase,
        max_phase=max_phase,
        records=records,
        variants=variants,
        variant_acts=pl.DataFrame(
            {"variant": distinct // width, "activity": codes.decode(distinct % width)}
        ),
        variant_act_codes=np.stack([distinct // width, distinct % width]),
    )


def take_cases(
    offsets: np.ndarray, values: np.ndarray, cases: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The events of `cases` laid end to end: (int64 offsets [len(cases) + 1], values)."""
    lengths = np.diff(offsets)[cases]
    out_offsets = np.zeros(cases.size + 1, dtype=np.int64)
    np.cumsum(lengths, out=out_offsets[1:])
    flat = np.repeat(offsets[cases] - out_offsets[:-1], lengths) + np.arange(
        out_offsets[-1], dtype=np.int64
    )
    return out_offsets, values[flat]


def _skipped(
    offsets: np.ndarray, act: np.ndarray, codes: MapCodes, rep: np.ndarray, rec: np.ndarray
) -> np.ndarray:
    unexpected = np.flatnonzero(rec[2] == k.UNEXPECTED)
    if unexpected.size == 0:
        return np.zeros((7, 0), dtype=np.int64)
    width = len(codes.names)
    distinct, path = small_unique(rec[4, unexpected] * width + rec[5, unexpected])
    lists = skip_paths(
        codes.designed,
        [codes.names[c] for c in (distinct // width).tolist()],
        [codes.names[c] for c in (distinct % width).tolist()],
    )
    path_offsets = np.zeros(len(lists) + 1, dtype=np.int64)
    np.cumsum([len(x) for x in lists], out=path_offsets[1:])
    path_codes = np.array([codes.code[t] for x in lists for t in x], dtype=np.int64)
    src, code = k.skipped_steps(
        offsets,
        act,
        rep,
        rec[0, unexpected],
        rec[1, unexpected],
        path.ravel().astype(np.int64),
        path_offsets,
        path_codes,
    )
    out = rec[:, unexpected[src]].copy()
    out[2] = k.SKIPPED
    out[3] = code
    out[6] = 0
    return out


def skip_paths(designed: DesignedMap, sources: list[str], targets: list[str]) -> list[list[str]]:
    """Observable touchpoints strictly inside the shortest designed path of each source -> target.

    Breadth-first over the flows as written (through unobservable touchpoints too), one search
    per distinct source, neighbours in map order; an empty list where no path exists.
    """
    rank = {t.id: i for i, t in enumerate(designed.touchpoints)}
    succ: dict[str, list[str]] = {}
    for a, b in designed.flows:
        succ.setdefault(a, []).append(b)
    for a, targets_of_a in succ.items():
        succ[a] = sorted(set(targets_of_a), key=rank.__getitem__)
    trees: dict[str, dict[str, str | None]] = {}
    out = []
    for source, target in zip(sources, targets, strict=True):
        if source not in trees:
            tree: dict[str, str | None] = {source: None}
            queue = deque([source])
            while queue:
                here = queue.popleft()
                for nxt in succ.get(here, []):
                    if nxt not in tree:
                        tree[nxt] = here
                        queue.append(nxt)
            trees[source] = tree
        parent = trees[source]
        steps: list[str] = []
        node = parent.get(target) if target != source else None
        while node is not None and node != source:
            if node in designed.observable:
                steps.append(node)
            node = parent[node]
        out.append(steps[::-1])
    return out


def _signatures(codes: MapCodes, rec: np.ndarray, n_variants: int) -> pl.Series:
    # Unknown touchpoints by name and unexpected transitions as "a->b", by first occurrence;
    # each distinct label is built once, then gathered.
    r = rec[:, (rec[2] == k.UNKNOWN) | (rec[2] == k.UNEXPECTED)]
    width = len(codes.names)
    key = np.where(r[2] == k.UNKNOWN, r[3], width + r[4] * width + r[5])
    distinct, inverse = small_unique(key)
    pair = distinct >= width
    unknown = np.where(pair, -1, distinct)
    frm = np.where(pair, (distinct - width) // width, -1)
    to = np.where(pair, (distinct - width) % width, -1)
    label = (
        pl.DataFrame({"t": codes.decode(unknown), "f": codes.decode(frm), "to": codes.decode(to)})
        .select(pl.coalesce("t", pl.col("f") + "->" + pl.col("to")))
        .to_series()
    )
    offsets = np.zeros(n_variants + 1, dtype=np.int64)
    np.cumsum(np.bincount(r[0], minlength=n_variants), out=offsets[1:])
    return list_series(offsets, label.gather(inverse))
