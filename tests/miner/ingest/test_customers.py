"""Customer attributes from a master table land on every event of the customer's journeys."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import polars as pl
import pytest

from journeyminer.miner.errors import IdentityError, MappingError, MissingColumnError
from journeyminer.miner.ingest.customers import attach_customers, load_customers
from journeyminer.miner.ingest.stitch import stitch_sources
from journeyminer.miner.log import EventLog
from tests.strategies import frame_from_rows

SAMPLE = Path(__file__).resolve().parents[3] / "datasets" / "omnichannel"
EVENTS = frame_from_rows(
    [
        ("ck1", "visit", 0, "web"),
        ("ck2", "visit", 10, "web"),
        ("ck1", "order", 5, "web"),
        ("anon", "visit", 7, None),
    ]
)
IDS = pl.DataFrame({"source_id": ["ck1", "ck2"], "customer_id": ["C1", "C2"]})


def _table(tmp_path: Path, text: str, name: str = "customers.csv") -> pl.DataFrame:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return load_customers(path)


def test_the_sample_table_reads_with_typed_attributes() -> None:
    table = load_customers(SAMPLE / "customers.csv")
    assert table.columns == ["customer_id", "region", "existing_customer"]
    assert table.schema["existing_customer"] == pl.Boolean
    assert table.get_column("customer_id").is_unique().all()


@pytest.mark.parametrize("cut", [True, False])
def test_every_event_gets_its_customers_attributes_or_nulls(tmp_path: Path, cut: bool) -> None:
    table = _table(tmp_path, "customer_id;tier;since\n C1 ;gold;2019\nC1;gold;2019\n;x;1\nC9;b;1\n")
    gap = timedelta(days=30) if cut else None
    log, _ = stitch_sources([EVENTS], IDS, gap=gap)
    joined, match = attach_customers(log, table)
    key = "customer_id" if cut else "case_id"
    assert joined.frame.drop("tier", "since").equals(log.frame)  # same events, same order
    want = {"C1": ("gold", 2019)}
    for row in joined.frame.iter_rows(named=True):
        assert (row["tier"], row["since"]) == want.get(row[key], (None, None))
    assert (match.customers, match.with_attributes, match.without_attributes) == (3, 1, 2)
    assert match.attributes == ("tier", "since")


def test_a_customer_with_two_different_rows_is_named_with_its_rows(tmp_path: Path) -> None:
    with pytest.raises(IdentityError) as err:
        _table(tmp_path, "customer_id,tier\nC1,gold\nC2,silver\nC1,bronze\n")
    assert "'C1'" in str(err.value) and err.value.row == 1 and "1, 3" in str(err.value)


def test_a_table_without_its_key_or_with_a_log_column_is_refused(tmp_path: Path) -> None:
    with pytest.raises(MissingColumnError) as missing:
        _table(tmp_path, "klant,tier\nC1,gold\n")
    assert missing.value.column == "customer_id" and "klant" in str(missing.value)
    with pytest.raises(MappingError) as clash:
        _table(tmp_path, "customer_id,activity\nC1,x\n")
    assert clash.value.column == "activity"


def test_an_attribute_the_events_have_already_is_refused() -> None:
    log = EventLog(EVENTS.with_columns(pl.lit("web").alias("tier")))
    with pytest.raises(MappingError, match="'tier'"):
        attach_customers(log, pl.DataFrame({"customer_id": ["ck1"], "tier": ["gold"]}))
