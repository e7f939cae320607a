"""Logs stored before stitching (`api/store/stitching.py`): stitched at append, and again
when the cache is stale."""

from __future__ import annotations

import polars as pl

from journeyminer.api.settings import Settings
from journeyminer.api.store import Store, Tenant
from journeyminer.miner.log import EventLog
from tests.api.store.conftest import DAY1, DAY2, make_log, sha


def _raw(rows: list[tuple[str, str, str]], label: str) -> pl.DataFrame:
    """A part as the front doors store it: canonical events before stitching, with provenance."""
    return make_log(rows).frame.with_columns(
        pl.lit(label).alias("source_file"),
        pl.int_range(pl.len(), dtype=pl.Int64).alias("source_row"),
    )


STITCH = {"stitch": {"format": 1, "order": None}, "gap": "30d", "goals": [], "identities": None}


def test_append_log_parts_stitches_and_commits_parts_settings_and_counts_at_once(
    settings: Settings,
) -> None:
    from journeyminer.api.store.stitching import load_journeys, stitch_snapshot

    with Store.open(settings) as store:
        acme = store.create_tenant("acme")
        log = store.create_log(acme, "web", mapping=STITCH)
        parts = [(_raw(DAY1, "day1.csv"), sha("1")), (_raw(DAY2, "day2.csv"), sha("2"))]
        assert (
            store.append_log_parts(acme, log.id, parts, mapping=STITCH, stitch=stitch_snapshot) == 1
        )
        info = store.get_log(acme, log.id)
        assert (info.version, info.parts, info.events, info.cases, info.customers) == (
            1,
            2,
            5,
            3,
            3,
        )
        # c2's events of both days are one journey; nothing is stitched twice.
        journeys = load_journeys(store, acme, log.id)
        assert journeys.report is not None and journeys.report["journeys"] == 3
        assert sorted(set(journeys.log.frame["case_id"])) == ["c1#1", "c2#1", "c3#1"]
        assert "source_file" not in journeys.log.frame.columns
        # Same batches, same settings: no change. A new identity table: a new version.
        assert store.append_log_parts(acme, log.id, parts, mapping=STITCH) is None
        table = pl.DataFrame({"source_id": ["c3"], "customer_id": ["c2"]})
        with_ids = {**STITCH, "identities": {"file": "ids.csv", "sha256": sha("ids")}}
        version = store.append_log_parts(
            acme, log.id, [], mapping=with_ids, identities=table, stitch=stitch_snapshot
        )
        assert version == 2
        info = store.get_log(acme, log.id)
        assert (info.parts, info.cases, info.customers) == (2, 2, 2)
        snap = store.log_snapshot(acme, log.id)
        assert snap.identities is not None and snap.merged is not None
        # The raw union stays readable, and is not cached in the stitched log's slot.
        assert store.read_log(acme, log.id).n_cases == 3
        assert store.log_snapshot(acme, log.id).merged == snap.merged
        replaced = pl.DataFrame({"source_id": ["c1"], "customer_id": ["c2"]})
        store.append_log_parts(acme, log.id, [], identities=replaced, stitch=stitch_snapshot)
        assert len(list((store.root / "logs" / log.id).glob("identities-*.parquet"))) == 1
    with Store.open(settings) as store:  # the sweep keeps the identity table and the cache
        assert store.check() == []
        assert load_journeys(store, acme, log.id).log.n_cases == 2


def test_a_stitched_read_of_a_stale_cache_stitches_again_and_fixes_the_counts(
    store: Store, acme: Tenant
) -> None:
    from journeyminer.api.store.stitching import read_journeys

    log = store.create_log(acme, "web", mapping=STITCH)
    assert store.append_log_part(acme, log.id, EventLog(_raw(DAY1, "d1.csv")), sha("1"))
    assert store.append_log_part(acme, log.id, EventLog(_raw(DAY2, "d2.csv")), sha("2"))
    assert store.log_snapshot(acme, log.id).merged is None  # raw appends: no stitched cache
    assert read_journeys(store, acme, log.id).n_cases == 3
    info = store.get_log(acme, log.id)
    assert (info.version, info.cases, info.customers) == (2, 3, 3)
    assert store.log_snapshot(acme, log.id).merged is not None
