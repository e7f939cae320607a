"""Filters: each one against a plain reference (polars group_by + Python), borders, order, queries."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from journeyminer.miner.discover.discovery import DFG, discover, discover_dfg
from journeyminer.miner.discover.filtering import apply_filters, filter_dfg
from journeyminer.miner.discover.filters import QUERY_PARAMETERS, TIME_MODES, Filters
from journeyminer.miner.errors import InputError
from journeyminer.miner.log import EventLog
from tests.strategies import BASE_US, event_frames, log_from_rows

CASE, ACT, TS, CH = "case_id", "activity", "timestamp", "channel"
T0 = datetime(2024, 1, 1, tzinfo=UTC)
SHARES = st.one_of(
    st.sampled_from([0.1, 0.2, 0.25, 0.3, 1 / 3, 0.5, 0.6, 0.8, 1.0]),
    st.floats(0.01, 1.0),
)


# -- logs and filters drawn by hypothesis -------------------------------------------------
@st.composite
def logs(draw: st.DrawFn) -> EventLog:
    """Small logs with a text attribute `device` and an integer attribute `tier`, both patchy."""
    frame = draw(event_frames(max_cases=10, max_events=6))
    n = frame.height
    device = st.sampled_from(["mobile", "tablet", "desktop", None])
    tier = st.one_of(st.none(), st.integers(1, 3))
    return EventLog(
        frame.with_columns(
            pl.Series("device", draw(st.lists(device, min_size=n, max_size=n)), dtype=pl.String),
            pl.Series("tier", draw(st.lists(tier, min_size=n, max_size=n)), dtype=pl.Int64),
        )
    )


def _window(data: st.DataObject, log: EventLog) -> tuple[datetime | None, datetime | None]:
    # Borders drawn from the log's own timestamps (and 1 µs beside them) hit equality often.
    times = log.frame.get_column(TS).to_list()
    near = st.sampled_from(times).flatmap(
        lambda t: st.sampled_from([t, t - timedelta(microseconds=1), t + timedelta(microseconds=1)])
    )
    start, end = data.draw(st.none() | near), data.draw(st.none() | near)
    if start is not None and end is not None and start >= end:
        start, end = end - timedelta(microseconds=1), start + timedelta(microseconds=1)
    return start, end


def _subset(data: st.DataObject, values: list[Any]) -> tuple[Any, ...]:
    return tuple(data.draw(st.lists(st.sampled_from(values), min_size=1, max_size=3)))


def _draw_filters(data: st.DataObject, log: EventLog) -> Filters:
    """Any mix of log filters, with values taken from the log so that they bite."""
    acts = list(log.activities)
    kw: dict[str, Any] = {}
    if data.draw(st.booleans()):
        kw["start"], kw["end"] = _window(data, log)
        kw["time_mode"] = data.draw(st.sampled_from(TIME_MODES))
    if data.draw(st.booleans()):
        kw["channels"] = _subset(data, ["web", "call_center", "crm", "fax"])
        kw["channel_mode"] = data.draw(st.sampled_from(["cases", "events"]))
    if data.draw(st.booleans()):
        kw["segment"] = {"device": _subset(data, ["mobile", "tablet", "desktop"])}
        if data.draw(st.booleans()):
            kw["segment"]["tier"] = _subset(data, ["1", "2", "3"])
    if data.draw(st.booleans()):
        kw["start_activities"] = _subset(data, acts)
    if data.draw(st.booleans()):
        kw["end_activities"] = _subset(data, acts)
    if data.draw(st.booleans()):
        kw["top_variants"] = data.draw(st.integers(1, 4))
    if data.draw(st.booleans()):
        kw["min_variant_share"] = data.draw(SHARES)
    if data.draw(st.booleans()):
        kw["activity_coverage"] = data.draw(SHARES)
    return Filters(**kw)


# -- the reference: polars group_by for per-case facts, Python for the rules ----------------
def _keep_cases(frame: pl.DataFrame, ids: set[str]) -> pl.DataFrame:
    return frame.filter(pl.col(CASE).is_in(sorted(ids)))


def _in_window(t: datetime, start: datetime | None, end: datetime | None) -> bool:
    return (start is None or start <= t) and (end is None or t < end)


def ref_time(frame: pl.DataFrame, f: Filters) -> pl.DataFrame:
    if f.start is None and f.end is None:
        return frame
    if f.time_mode == "trim":
        mask = [_in_window(t, f.start, f.end) for t in frame.get_column(TS)]
        return frame.filter(pl.Series(mask, dtype=pl.Boolean))
    spans = frame.group_by(CASE).agg(
        pl.col(TS).min().alias("first"), pl.col(TS).max().alias("last")
    )
    keep = set()
    for case, first, last in spans.iter_rows():
        if f.time_mode == "contained":
            ok = _in_window(first, f.start, f.end) and _in_window(last, f.start, f.end)
        elif f.time_mode == "started":
            ok = _in_window(first, f.start, f.end)
        elif f.time_mode == "completed":
            ok = _in_window(last, f.start, f.end)
        else:  # intersecting: some instant of [first, last] lies in [start, end)
            ok = (f.start is None or last >= f.start) and (f.end is None or first < f.end)
        if ok:
            keep.add(case)
    return _keep_cases(frame, keep)


def ref_channels(frame: pl.DataFrame, f: Filters) -> pl.DataFrame:
    if not f.channels:
        return frame
    if f.channel_mode == "events":
        mask = [ch in f.channels for ch in frame.get_column(CH)]
        return frame.filter(pl.Series(mask, dtype=pl.Boolean))
    per_case = frame.group_by(CASE).agg(pl.col(CH))
    keep = {c for c, chs in per_case.iter_rows() if set(chs) & set(f.channels)}
    return _keep_cases(frame, keep)


def ref_segment(frame: pl.DataFrame, f: Filters) -> pl.DataFrame:
    if not f.segment:
        return frame
    per_case = frame.group_by(CASE, maintain_order=True).agg(pl.col(a) for a in f.segment)
    keep = set()
    for row in per_case.iter_rows(named=True):
        values = {a: next((str(v) for v in row[a] if v is not None), None) for a in f.segment}
        if all(values[a] in allowed for a, allowed in f.segment.items()):
            keep.add(row[CASE])
    return _keep_cases(frame, keep)


def ref_start_end(frame: pl.DataFrame, f: Filters) -> pl.DataFrame:
    if not f.start_activities and not f.end_activities:
        return frame
    seqs = frame.group_by(CASE, maintain_order=True).agg(pl.col(ACT))
    keep = {
        c
        for c, acts in seqs.iter_rows()
        if (not f.start_activities or acts[0] in f.start_activities)
        and (not f.end_activities or acts[-1] in f.end_activities)
    }
    return _keep_cases(frame, keep)


def ref_variants(frame: pl.DataFrame, f: Filters) -> pl.DataFrame:
    if f.top_variants is None and f.min_variant_share is None:
        return frame
    seqs = dict(frame.group_by(CASE, maintain_order=True).agg(pl.col(ACT)).iter_rows())
    counts = Counter(tuple(s) for s in seqs.values())
    ranked = sorted(counts, key=lambda s: (-counts[s], s))
    kept = set(ranked if f.top_variants is None else ranked[: f.top_variants])
    if f.min_variant_share is not None:
        kept = {s for s in kept if counts[s] / len(seqs) >= f.min_variant_share}
    return _keep_cases(frame, {c for c, s in seqs.items() if tuple(s) in kept})


def ref_activity_coverage(frame: pl.DataFrame, f: Filters) -> pl.DataFrame:
    if f.activity_coverage is None or frame.height == 0:
        return frame
    counts = Counter(frame.get_column(ACT).to_list())
    kept, cum = set(), 0
    for act in sorted(counts, key=lambda a: (-counts[a], a)):
        kept.add(act)
        cum += counts[act]
        if cum / frame.height >= f.activity_coverage:
            break
    return frame.filter(pl.col(ACT).is_in(sorted(kept)))


REFERENCE_STEPS = (
    ref_time,
    ref_channels,
    ref_segment,
    ref_start_end,
    ref_variants,
    ref_activity_coverage,
)


def ref_apply(log: EventLog, f: Filters) -> pl.DataFrame:
    frame = log.frame
    for step in REFERENCE_STEPS:
        frame = step(frame, f)
    return frame


def ref_filter_dfg(dfg: DFG, f: Filters) -> tuple[list[tuple[str, str]], set[str], set[str]]:
    edges = {(r["source"], r["target"]): r["count"] for r in dfg.edges.to_dicts()}
    kept = set(edges)
    if f.path_coverage is not None:
        ranked = sorted(edges, key=lambda e: (-edges[e], e))
        kept, cum, total = set(), 0, sum(edges.values())
        for e in ranked:
            kept.add(e)
            cum += edges[e]
            if cum / total >= f.path_coverage:
                break
        for act in {a for e in edges for a in e}:
            kept |= (
                {next(e for e in ranked if e[0] == act)}
                if any(e[0] == act for e in ranked)
                else set()
            )
            kept |= (
                {next(e for e in ranked if e[1] == act)}
                if any(e[1] == act for e in ranked)
                else set()
            )
    if f.min_edge_count is not None:
        kept = {e for e in kept if edges[e] >= f.min_edge_count}
    had_edges = {a for e in edges for a in e}
    shown = {a for e in kept for a in e}

    def still_shown(frame: pl.DataFrame) -> set[str]:
        return {a for a in frame.get_column("activity") if a in shown or a not in had_edges}

    return sorted(kept), still_shown(dfg.start), still_shown(dfg.end)


# -- each filter against the reference ------------------------------------------------------
@given(logs(), st.data())
def test_every_filter_mix_equals_the_reference_applied_in_the_documented_order(
    log: EventLog, data: st.DataObject
) -> None:
    f = _draw_filters(data, log)
    out = apply_filters(log, f)
    assert_frame_equal(out.frame, ref_apply(log, f))
    assert out.n_cases == out.frame.get_column(CASE).n_unique()


@given(logs(), st.data())
def test_time_window_equals_the_reference_in_every_mode(log: EventLog, data: st.DataObject) -> None:
    start, end = _window(data, log)
    for mode in TIME_MODES:
        f = Filters(start=start, end=end, time_mode=mode)  # type: ignore[arg-type]
        assert_frame_equal(apply_filters(log, f).frame, ref_time(log.frame, f))


@given(logs(), st.data())
def test_channel_filter_equals_the_reference_in_both_modes(
    log: EventLog, data: st.DataObject
) -> None:
    channels = _subset(data, ["web", "call_center", "crm"])
    for mode in ("cases", "events"):
        f = Filters(channels=channels, channel_mode=mode)
        assert_frame_equal(apply_filters(log, f).frame, ref_channels(log.frame, f))


@given(logs(), st.data())
def test_segment_filter_equals_the_reference(log: EventLog, data: st.DataObject) -> None:
    f = Filters(
        segment={
            "device": _subset(data, ["mobile", "tablet", "desktop", None]),
            "tier": _subset(data, ["1", "2", "3", None]),
        }
    )
    assert_frame_equal(apply_filters(log, f).frame, ref_segment(log.frame, f))


@given(logs(), st.data())
def test_start_and_end_activity_filters_equal_the_reference(
    log: EventLog, data: st.DataObject
) -> None:
    acts = list(log.activities)
    f = Filters(start_activities=_subset(data, acts), end_activities=_subset(data, acts))
    assert_frame_equal(apply_filters(log, f).frame, ref_start_end(log.frame, f))


@given(logs(), st.integers(1, 5), SHARES)
def test_variant_filters_equal_the_reference(log: EventLog, k: int, share: float) -> None:
    for f in (
        Filters(top_variants=k),
        Filters(min_variant_share=share),
        Filters(top_variants=k, min_variant_share=share),
    ):
        assert_frame_equal(apply_filters(log, f).frame, ref_variants(log.frame, f))


@given(logs(), SHARES)
def test_activity_coverage_equals_the_reference(log: EventLog, coverage: float) -> None:
    f = Filters(activity_coverage=coverage)
    assert_frame_equal(apply_filters(log, f).frame, ref_activity_coverage(log.frame, f))


@given(logs(), st.none() | SHARES, st.none() | st.integers(1, 4))
def test_path_filters_equal_the_reference(
    log: EventLog, coverage: float | None, min_count: int | None
) -> None:
    dfg = discover_dfg(log)
    f = Filters(path_coverage=coverage, min_edge_count=min_count)
    out = filter_dfg(dfg, f)
    edges, start, end = ref_filter_dfg(dfg, f)
    assert list(zip(out.edges["source"], out.edges["target"], strict=True)) == edges
    assert set(out.start["activity"]) == start
    assert set(out.end["activity"]) == end
    # Kept rows are the input rows, untouched and in their order.
    assert_frame_equal(
        out.edges,
        dfg.edges.join(out.edges.select("source", "target"), on=["source", "target"], how="semi"),
    )
    assert_frame_equal(out.start, dfg.start.filter(pl.col("activity").is_in(sorted(start))))


@given(logs(), st.data())
def test_apply_filters_is_the_chain_of_its_single_filters_in_order(
    log: EventLog, data: st.DataObject
) -> None:
    f = _draw_filters(data, log)
    groups = (
        ("start", "end", "time_mode"),
        ("channels", "channel_mode"),
        ("segment",),
        ("start_activities", "end_activities"),
        ("top_variants", "min_variant_share"),
        ("activity_coverage",),
    )
    chained = log
    for names in groups:
        chained = apply_filters(chained, Filters(**{n: getattr(f, n) for n in names}))
    assert_frame_equal(apply_filters(log, f).frame, chained.frame)


# -- named edge cases -----------------------------------------------------------------------
def _border_log() -> EventLog:
    # c1 runs 10:00-12:00, c2 12:00-14:00, c3 is one event at 12:00; times are minutes past T0.
    at = {m: T0 + timedelta(minutes=m) for m in (600, 660, 720, 780, 840)}
    return log_from_rows(
        [
            ("c1", "visit", at[600], "web"),
            ("c1", "call", at[720], "call_center"),
            ("c2", "visit", at[720], "web"),
            ("c2", "buy", at[840], "web"),
            ("c3", "visit", at[720], None),
        ]
    )


def _cases(log: EventLog) -> list[str]:
    return log.frame.get_column(CASE).unique(maintain_order=True).to_list()


@pytest.mark.parametrize(
    ("mode", "cases"),
    [
        ("contained", ["c3"]),  # c1 ends at noon, c2 starts there; only c3 lies inside
        ("intersecting", ["c1", "c2", "c3"]),  # c1 touches the start, c2 ends after it
        ("started", ["c2", "c3"]),  # starting at start is inside
        ("completed", ["c1", "c3"]),  # ending at start is inside
    ],
)
def test_window_start_is_inclusive_for_case_modes(mode: str, cases: list[str]) -> None:
    f = Filters(start=T0 + timedelta(hours=12), end=T0 + timedelta(hours=13), time_mode=mode)  # type: ignore[arg-type]
    assert _cases(apply_filters(_border_log(), f)) == cases


@pytest.mark.parametrize(
    ("mode", "cases"),
    [
        ("contained", []),  # c1's last event at noon is outside
        ("intersecting", ["c1"]),  # c2 and c3 start at noon: outside
        ("started", ["c1"]),
        ("completed", []),
    ],
)
def test_window_end_is_exclusive_for_case_modes(mode: str, cases: list[str]) -> None:
    f = Filters(start=T0 + timedelta(hours=9), end=T0 + timedelta(hours=12), time_mode=mode)  # type: ignore[arg-type]
    assert _cases(apply_filters(_border_log(), f)) == cases


def test_trim_keeps_events_at_start_and_drops_events_at_end() -> None:
    f = Filters(start=T0 + timedelta(hours=12), end=T0 + timedelta(hours=14), time_mode="trim")
    out = apply_filters(_border_log(), f).frame
    assert out.select(CASE, ACT).rows() == [("c1", "call"), ("c2", "visit"), ("c3", "visit")]


def test_consecutive_windows_split_the_events_without_overlap() -> None:
    log = _border_log()
    noon = T0 + timedelta(hours=12)
    before = apply_filters(log, Filters(end=noon, time_mode="trim"))
    after = apply_filters(log, Filters(start=noon, time_mode="trim"))
    assert before.n_events + after.n_events == log.n_events


def test_naive_times_are_utc_and_aware_times_are_converted() -> None:
    naive = Filters(start=datetime(2024, 1, 1, 12))
    cet = Filters(start=datetime(2024, 1, 1, 13, tzinfo=timezone(timedelta(hours=1))))
    assert naive == cet
    assert naive.start == datetime(2024, 1, 1, 12, tzinfo=UTC)


def test_a_filter_that_removes_everything_gives_a_valid_empty_log() -> None:
    log = _border_log()
    out = apply_filters(log, Filters(start=T0 + timedelta(days=365)))
    assert (out.n_events, out.n_cases, out.activities) == (0, 0, ())
    assert out.frame.schema == log.frame.schema
    assert discover(out).to_dict()["variants"] == []
    later = Filters(top_variants=1, activity_coverage=0.5, path_coverage=0.5)
    assert apply_filters(out, later).n_events == 0
    assert filter_dfg(discover_dfg(out), later).edges.height == 0


def test_channel_events_mode_drops_events_without_a_channel_and_cases_mode_keeps_them() -> None:
    log = _border_log()
    events = apply_filters(log, Filters(channels=("web",), channel_mode="events"))
    cases = apply_filters(log, Filters(channels=("call_center",)))
    assert events.frame.select(CASE, ACT).rows() == [
        ("c1", "visit"),
        ("c2", "visit"),
        ("c2", "buy"),
    ]
    assert cases.frame.select(CASE, ACT).rows() == [("c1", "visit"), ("c1", "call")]


def _segment_log() -> EventLog:
    frame = pl.DataFrame(
        {
            CASE: ["a", "a", "a", "b", "b", "c"],
            ACT: ["x", "y", "z", "x", "y", "x"],
            TS: [BASE_US + i for i in range(6)],
            CH: ["web"] * 6,
            "device": [None, "mobile", "desktop", "desktop", "mobile", None],
            "tier": [None, None, 3, 1, None, None],
        }
    ).with_columns(pl.col(TS).cast(pl.Datetime("us", "UTC")))
    return EventLog(frame)


def test_segment_uses_the_first_non_null_value_and_compares_as_text() -> None:
    log = _segment_log()
    assert _cases(apply_filters(log, Filters(segment={"device": ("mobile",)}))) == ["a"]
    assert _cases(apply_filters(log, Filters(segment={"tier": ("3",)}))) == ["a"]
    both = Filters(segment={"device": ("mobile", "desktop"), "tier": ("1",)})
    assert _cases(apply_filters(log, both)) == ["b"]  # every attribute must match; c has none


def test_the_missing_value_selects_the_journeys_without_one() -> None:
    log = _segment_log()  # c has no device and no tier; a has no device on its first event
    assert _cases(apply_filters(log, Filters(segment={"device": (None,)}))) == ["c"]
    assert _cases(apply_filters(log, Filters(segment={"tier": ("1", None)}))) == ["b", "c"]
    f = Filters(segment={"tier": [None, "1", "1"]})
    assert f.segment == {"tier": ("1", None)}  # sorted, None last
    assert f.to_dict() == {"segment": {"tier": ["1", None]}}
    assert f.to_query() == {"segment": "tier:1|~"}
    assert Filters.from_query({"segment": "tier: ~ "}).segment == {"tier": (None,)}
    assert Filters.from_query({"segment": "tier:\\~"}).segment == {"tier": ("~",)}
    assert Filters(segment={"tier": ("~",)}).to_query() == {"segment": "tier:\\~"}
    assert Filters.from_dict({"segment": {"device": [None]}}) == Filters(
        segment={"device": (None,)}
    )
    with pytest.raises(InputError, match="segment"):
        Filters(segment={"device": ("",)})


def test_an_unknown_segment_attribute_lists_the_log_attributes() -> None:
    with pytest.raises(InputError, match=r"'region'.*device, tier") as info:
        apply_filters(_segment_log(), Filters(segment={"region": ("north",)}))
    assert info.value.problem()["parameter"] == "segment"


def test_a_segment_on_a_list_attribute_says_it_needs_plain_values() -> None:
    log = _segment_log()
    frame = log.frame.with_columns(pl.concat_list(pl.col(ACT)).alias("nested"))
    with pytest.raises(InputError, match="plain values"):
        apply_filters(EventLog(frame, is_sorted=True), Filters(segment={"nested": ("x",)}))


def test_variant_ranking_breaks_count_ties_by_activity_tuple_and_share_border_is_inclusive() -> (
    None
):
    rows = []
    for i, seq in enumerate(["ab", "ab", "ab", "b", "b", "b", "a", "a", "c", "ca"]):
        rows += [(f"c{i}", act, BASE_US + j, "web") for j, act in enumerate(seq)]
    log = log_from_rows(rows)  # type: ignore[arg-type]

    def seqs(f: Filters) -> set[str]:
        out = apply_filters(log, f).frame.group_by(CASE).agg(pl.col(ACT).str.join(""))
        return set(out.get_column(ACT))

    assert seqs(Filters(top_variants=1)) == {"ab"}  # ("a","b") < ("b",)
    assert seqs(Filters(top_variants=3)) == {"ab", "b", "a"}
    assert seqs(Filters(min_variant_share=0.3)) == {"ab", "b"}  # 3 of 10 is exactly 0.3
    assert seqs(Filters(min_variant_share=0.2, top_variants=2)) == {"ab", "b"}


def test_activity_coverage_keeps_the_smallest_top_set_and_breaks_ties_by_name() -> None:
    rows = [("c1", a, BASE_US + i, "web") for i, a in enumerate("aaaabbccdd")]
    log = log_from_rows(rows)  # type: ignore[arg-type]

    def acts(coverage: float) -> tuple[str, ...]:
        return apply_filters(log, Filters(activity_coverage=coverage)).activities

    assert acts(0.4) == ("a",)  # a alone is exactly 40%
    assert acts(0.41) == ("a", "b")
    assert acts(0.6) == ("a", "b")
    assert acts(0.7) == ("a", "b", "c")  # c and d tie at 20%: c comes first by name
    assert acts(1.0) == ("a", "b", "c", "d")


def test_order_matters_and_is_the_documented_one() -> None:
    # Channel events come before start activities: c1 starts with the call once web is gone.
    log = _border_log()
    f = Filters(channels=("call_center",), channel_mode="events", start_activities=("call",))
    assert apply_filters(log, f).frame.select(CASE, ACT).rows() == [("c1", "call")]
    # Variants come before activity coverage: coverage ranks what the top variant left.
    rows = [(f"c{i}", a, BASE_US + j, "web") for i in range(3) for j, a in enumerate("ab")]
    rows += [("d1", a, BASE_US + j, "web") for j, a in enumerate("cccccc")]
    log = log_from_rows(rows)  # type: ignore[arg-type]
    out = apply_filters(log, Filters(top_variants=1, activity_coverage=0.5))
    assert out.activities == ("a",)


def test_path_coverage_keeps_every_activity_connected_and_min_edge_count_does_not() -> None:
    rows = [(f"c{i}", a, BASE_US + j, "web") for i in range(5) for j, a in enumerate("abc")]
    rows += [("d1", a, BASE_US + j, "web") for j, a in enumerate("ax")]
    rows += [("e1", "solo", BASE_US, "web")]
    dfg = discover_dfg(log_from_rows(rows))  # type: ignore[arg-type]
    covered = filter_dfg(dfg, Filters(path_coverage=0.5))
    # a->b alone covers 5/11; b->c reaches 10/11; a->x stays as x's only incoming edge.
    assert covered.edges.select("source", "target").rows() == [("a", "b"), ("a", "x"), ("b", "c")]
    assert_frame_equal(covered.start, dfg.start)
    thresholded = filter_dfg(dfg, Filters(min_edge_count=2))
    assert thresholded.edges.select("source", "target").rows() == [("a", "b"), ("b", "c")]
    # x lost its only edge and is no longer shown; solo never had an edge and stays.
    assert set(thresholded.end["activity"]) == {"c", "solo"}
    assert filter_dfg(dfg, Filters(top_variants=1)) is dfg


def test_empty_filters_change_nothing() -> None:
    log = _border_log()
    assert Filters().is_empty
    assert not Filters(min_edge_count=2).is_empty
    assert not Filters(time_mode="trim", start=T0).is_empty
    assert apply_filters(log, Filters()) is log
    assert apply_filters(log, Filters(path_coverage=0.5)) is log


# -- construction, queries, JSON -------------------------------------------------------------
def test_from_query_reads_the_documented_examples() -> None:
    f = Filters.from_query(
        {
            "start": "2024-01-01",
            "end": "2024-02-01T00:00:00+01:00",
            "time_mode": "started",
            "channels": "web, call_center",
            "segment": "device:mobile|tablet;tier: 1",
            "top_variants": "10",
            "min_variant_share": "0.05",
            "start_activities": ["visit", "search,ad\\,click"],
            "activity_coverage": "0.8",
            "path_coverage": "1",
            "min_edge_count": "3",
            "end_activities": "",
        }
    )
    assert f == Filters(
        start=datetime(2024, 1, 1),
        end=datetime(2024, 1, 31, 23, tzinfo=UTC),
        time_mode="started",
        channels=("call_center", "web"),
        segment={"device": ("mobile", "tablet"), "tier": ("1",)},
        top_variants=10,
        min_variant_share=0.05,
        start_activities=("ad,click", "search", "visit"),
        activity_coverage=0.8,
        path_coverage=1.0,
        min_edge_count=3,
    )


NAMES = st.text(min_size=1, max_size=6).filter(lambda s: bool(s))
NAME_TUPLES = st.lists(NAMES, max_size=3).map(tuple)


@st.composite
def any_filters(draw: st.DrawFn) -> Filters:
    """Filters with awkward names (separators, spaces, backslashes) and arbitrary values."""
    times = sorted(draw(st.lists(st.datetimes(timezones=st.just(UTC)), max_size=2, unique=True)))
    start = end = None
    if len(times) == 2:
        start, end = times
    elif times:
        start = times[0] if draw(st.booleans()) else None
        end = None if start else times[0]
    return Filters(
        start=start,
        end=end,
        time_mode=draw(st.sampled_from(TIME_MODES)),
        channels=draw(NAME_TUPLES),
        channel_mode=draw(st.sampled_from(["cases", "events"])),
        segment=draw(
            st.dictionaries(
                NAMES,
                st.lists(NAMES | st.just("~") | st.none(), min_size=1, max_size=3).map(tuple),
                max_size=2,
            )
        ),
        start_activities=draw(NAME_TUPLES),
        end_activities=draw(NAME_TUPLES),
        top_variants=draw(st.none() | st.integers(1, 10**6)),
        min_variant_share=draw(st.none() | st.floats(0, 1, exclude_min=True)),
        activity_coverage=draw(st.none() | st.floats(0, 1, exclude_min=True)),
        path_coverage=draw(st.none() | st.floats(0, 1, exclude_min=True)),
        min_edge_count=draw(st.none() | st.integers(1, 10**6)),
    )


@given(any_filters())
def test_query_and_json_round_trip(f: Filters) -> None:
    assert Filters.from_query(f.to_query()) == f
    assert Filters.from_dict(json.loads(json.dumps(f.to_dict()))) == f
    assert hash(Filters.from_query(f.to_query())) == hash(f)
    assert set(f.to_dict()) <= set(QUERY_PARAMETERS)


def test_to_dict_names_only_what_differs_from_the_defaults() -> None:
    f = Filters(start=datetime(2024, 1, 1), channels=("web", "crm", "web"), top_variants=3)
    assert f.to_dict() == {
        "start": "2024-01-01T00:00:00Z",
        "channels": ["crm", "web"],
        "top_variants": 3,
    }
    assert Filters().to_dict() == {}
    assert f == Filters(start=datetime(2024, 1, 1), channels=("crm", "web"), top_variants=3)


@pytest.mark.parametrize(
    ("params", "parameter", "fragment"),
    [
        ({"start": "yesterday"}, "start", "ISO-8601"),
        ({"start": "2024-02-01", "end": "2024-01-01"}, "end", "after start"),
        ({"start": "2024-01-01", "end": "2024-01-01"}, "end", "after start"),
        ({"time_mode": "during"}, "time_mode", "contained, intersecting, started, completed, trim"),
        ({"channel_mode": "both"}, "channel_mode", "cases, events"),
        ({"segment": "device"}, "segment", "attribute:value|value"),
        ({"segment": "device:"}, "segment", "attribute:value|value"),
        ({"segment": "device:a;device:b"}, "segment", "twice"),
        ({"top_variants": "0"}, "top_variants", "whole number >= 1"),
        ({"top_variants": "2.5"}, "top_variants", "whole number >= 1"),
        ({"min_edge_count": "-1"}, "min_edge_count", "whole number >= 1"),
        ({"min_variant_share": "0"}, "min_variant_share", r"share in \(0, 1\]"),
        ({"activity_coverage": "1.5"}, "activity_coverage", r"share in \(0, 1\]"),
        ({"path_coverage": "nan"}, "path_coverage", r"share in \(0, 1\]"),
        ({"path_coverage": "most"}, "path_coverage", r"share in \(0, 1\]"),
        ({"top_variants": ["1", "2"]}, "top_variants", "one value"),
        ({"top_varients": "3"}, "top_varients", "unknown filter parameter.*top_variants"),
    ],
)
def test_bad_query_values_name_the_parameter_and_what_was_expected(
    params: dict[str, str | list[str]], parameter: str, fragment: str
) -> None:
    with pytest.raises(InputError, match=fragment) as info:
        Filters.from_query(params)
    assert info.value.problem()["parameter"] == parameter
    assert info.value.status == 422
    assert parameter in str(info.value)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"top_variants": True},
        {"channels": "web"},
        {"channels": ("",)},
        {"segment": {"device": ()}},
        {"start": "2024-01-01"},
        {"activity_coverage": 0.0},
    ],
)
def test_the_constructor_checks_values_too(kwargs: dict[str, Any]) -> None:
    with pytest.raises(InputError):
        Filters(**kwargs)


def test_path_coverage_stops_at_the_first_edge_that_reaches_it_exactly() -> None:
    rows = [(f"c{i}", a, BASE_US + j, "web") for i in range(3) for j, a in enumerate("abc")]
    rows += [("d1", a, BASE_US + j, "web") for j, a in enumerate("ac")]
    dfg = discover_dfg(log_from_rows(rows))  # type: ignore[arg-type]
    # a->b and b->c cover 6 of 7; a->c is neither a's strongest exit nor c's strongest entry.
    exact = filter_dfg(dfg, Filters(path_coverage=6 / 7))
    assert exact.edges.select("source", "target").rows() == [("a", "b"), ("b", "c")]
    more = filter_dfg(dfg, Filters(path_coverage=0.9))
    assert more.edges.height == 3


def test_query_parameters_are_the_fields_and_filters_pickle() -> None:
    import dataclasses
    import pickle

    defaults = {f.name: getattr(Filters(), f.name) for f in dataclasses.fields(Filters)}
    assert tuple(defaults) == QUERY_PARAMETERS
    f = Filters(segment={"device": ("mobile",)}, start=T0, top_variants=2)
    assert pickle.loads(pickle.dumps(f)) == f
