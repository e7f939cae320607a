"""Writes the bad-input corpus next to this file (run it to regenerate; the files are kept).

Each file is small and wrong in one way; `tests/api/test_bad_inputs.py` says what each one
must answer (its app runs with `max_activities=50` and `max_map_nodes=5_000`, so the files
that pass those limits stay small). Run: `python tests/data/bad/make.py`.
"""

from __future__ import annotations

import gzip
import io
import json
from pathlib import Path

import polars as pl

HERE = Path(__file__).parent
HEADER = "visitor_id,session_id,event_name,page_url,device,event_time"
ROWS = [
    "ck_1,s1,landing_page,/,mobile,2024-01-01T09:00:00Z",
    "ck_1,s1,product_page,/p/1,mobile,2024-01-01T09:01:00Z",
    "ck_2,s2,landing_page,/,desktop,2024-01-01T10:00:00Z",
]
GOOD = HEADER + "\n" + "\n".join(ROWS) + "\n"
XES_HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n<log xes.version="1.0">\n'
OCEL_TYPES = {
    "objectTypes": [{"name": "customer", "attributes": []}, {"name": "order", "attributes": []}],
    "eventTypes": [{"name": "buy", "attributes": []}],
}


def _event(name: str | None, time: str) -> str:
    concept = f'<string key="concept:name" value="{name}"/>' if name is not None else ""
    return f'<event>{concept}<date key="time:timestamp" value="{time}"/></event>'


def _parquet(frame: pl.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.write_parquet(buffer)
    return buffer.getvalue()


def _ocel(objects: list[dict[str, str]], events: object) -> str:
    return json.dumps({**OCEL_TYPES, "objects": objects, "events": events})


def _ocel_event(obj: str, time: str) -> dict[str, object]:
    return {
        "id": "e1",
        "type": "buy",
        "time": time,
        "relationships": [{"objectId": obj, "qualifier": "x"}],
    }


def _map(journey: str, phase: str = "see") -> str:
    return (
        'name = "bad"\n\n[[phases]]\nid = "see"\n\n'
        f'[[touchpoints]]\nid = "landing"\nphase = "{phase}"\n\n'
        f'[journey]\nstart = ["landing"]\ngoal = ["landing"]\n{journey}\n'
    )


def files() -> dict[str, bytes | str]:
    """Every file of the corpus: name -> content."""
    good_parquet = _parquet(
        pl.DataFrame(
            {
                "visitor_id": ["ck_1", "ck_1"],
                "event_name": ["a", "b"],
                "event_time": ["2024-01-01T09:00:00Z", "2024-01-01T09:01:00Z"],
            }
        )
    )
    trace = '<trace><string key="concept:name" value="c1"/>{}</trace>'
    bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{c}: &{c} [{', '.join(['*' + p] * 10)}]\n"
        for p, c in zip("abcdef", "bcdefg", strict=True)
    )
    return {
        # -- CSV ---------------------------------------------------------------------------
        "empty.csv": "",
        "header_only.csv": HEADER + "\n",
        "blank_lines.csv": "\n\n\n",
        "semicolons.csv": GOOD.replace(",", ";"),
        "bad_timestamps.csv": GOOD.replace("2024-01-01T10:00:00Z", "not a date"),
        "all_bad_timestamps.csv": HEADER + "\nck_1,s1,a,/,m,yesterday\nck_2,s2,b,/,m,tomorrow\n",
        "huge_epoch.csv": HEADER + "\nck_1,s1,a,/,m,99999999999999999999\n",
        "ragged.csv": GOOD + "ck_3,s3,checkout,/c,mobile,2024-01-01T11:00:00Z,extra,fields\n",
        "latin1.csv": (HEADER + "\nck_1,s1,caf\xe9,/,m,2024-01-01T09:00:00Z\n").encode("latin-1"),
        "bom.csv": "\ufeff" + GOOD,
        "nul_bytes.csv": GOOD.replace("landing_page", "land\x00ing"),
        "huge_header.csv": HEADER + "," + "h" * 70_000 + "\n" + ROWS[0] + ",x\n",
        "wide.csv": HEADER + "".join(f",x{i}" for i in range(1_200)) + "\n",
        "no_activity_column.csv": GOOD.replace("event_name", "what"),
        "empty_activity.csv": GOOD.replace("product_page", ""),
        "long_value.csv": GOOD.replace("product_page", "p" * 5_000),
        "duplicate_header.csv": GOOD.replace("page_url", "event_name", 1),
        "unclosed_quote.csv": HEADER + '\nck_1,s1,"landing,/,m,2024-01-01T09:00:00Z\n',
        "binary.csv": b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4,
        "truncated.csv.gz": gzip.compress(GOOD.encode() * 50)[:120],
        "many_activities.csv": HEADER
        + "\n"
        + "".join(f"ck_{i},s,act_{i},/,m,2024-01-01T09:00:00Z\n" for i in range(60)),
        # -- JSON lines ----------------------------------------------------------------------
        "bad_line.jsonl": '{"case_id": "c", "activity": "a", "timestamp": "2024-01-01"}\n{nope\n',
        "arrays.jsonl": '["c", "a", "2024-01-01"]\n["c", "b", "2024-01-02"]\n',
        "wrong_keys.jsonl": '{"who": "c", "what": "a", "when": "2024-01-01"}\n',
        # -- XES -----------------------------------------------------------------------------
        "malformed.xes": XES_HEAD + "<trace><event><string key=",
        "not_xml.xes": "this is not xml at all\n",
        "no_traces.xes": XES_HEAD + "</log>\n",
        "no_concept_name.xes": XES_HEAD
        + trace.format(_event(None, "2024-01-01T09:00:00Z") * 2)
        + "</log>\n",
        "bad_timestamp.xes": XES_HEAD + trace.format(_event("a", "yesterday")) + "</log>\n",
        "truncated.xes.gz": gzip.compress(
            (XES_HEAD + trace.format(_event("a", "2024-01-01T09:00:00Z")) * 30 + "</log>").encode()
        )[:100],
        # -- OCEL 2.0 ------------------------------------------------------------------------
        "malformed.jsonocel": json.dumps(OCEL_TYPES)[:-10],
        "no_customers.jsonocel": _ocel(
            [{"id": "o1", "type": "order"}], [_ocel_event("o1", "2024-01-01T09:00:00Z")]
        ),
        "bad_time.jsonocel": _ocel(
            [{"id": "c1", "type": "customer"}], [_ocel_event("c1", "the day after")]
        ),
        "events_not_list.jsonocel": _ocel([], 5),
        "malformed.xmlocel": "<log><object-types><object-type name='customer'>",
        "no_events.xmlocel": "<log><object-types/><event-types/><objects/><events/></log>",
        # -- Parquet -------------------------------------------------------------------------
        "truncated.parquet": good_parquet[: len(good_parquet) // 2],
        "not_parquet.parquet": "visitor_id,event_name\nck_1,a\n",
        "empty.parquet": _parquet(
            pl.DataFrame(
                schema={"visitor_id": pl.String, "event_name": pl.String, "event_time": pl.String}
            )
        ),
        "bool_timestamps.parquet": _parquet(
            pl.DataFrame({"visitor_id": ["c"], "event_name": ["a"], "event_time": [True]})
        ),
        "list_activity.parquet": _parquet(
            pl.DataFrame(
                {
                    "visitor_id": ["c"],
                    "event_name": [["a", "b"]],
                    "event_time": ["2024-01-01T09:00:00Z"],
                }
            )
        ),
        # -- source mappings -----------------------------------------------------------------
        "mapping_syntax.toml": 'case = "visitor_id\n',
        "mapping_unknown_field.toml": 'case = "visitor_id"\nactivty = "event_name"\n',
        "mapping_wrong_type.json": '{"case": 5, "activity": "event_name"}',
        # -- designed maps -------------------------------------------------------------------
        "map_syntax.toml": '[journey\nname = "x"\n',
        "map_syntax.json": '{"phases": [}',
        "map_syntax.yaml": "phases:\n  - id: a\n - id: b\n    : :\n",
        "map_unknown_touchpoint.toml": _map('flows = [["landing", "nowhere"]]'),
        "map_unknown_phase.toml": _map("", phase="elsewhere"),
        "map_duplicate_phase.toml": _map("") + '\n[[phases]]\nid = "see"\n',
        "map_flow_cycle_unknown.toml": _map('flows = [["landing", "ghost"], ["ghost", "landing"]]'),
        "map_empty.toml": "",
        "map_wrong_types.toml": 'phases = "see"\ntouchpoints = 5\n',
        "map_list_root.yaml": "- a\n- b\n",
        "map_alias_bomb.yaml": bomb,
        "map_deep.json": "[" * 5_000 + "]" * 5_000,
        "map_many_nodes.json": json.dumps({"phases": [{"id": f"p{i}"} for i in range(3_000)]}),
    }


def main() -> None:
    """Write every file of `files()` into this folder."""
    for name, content in files().items():
        data = content.encode("utf-8") if isinstance(content, str) else content
        (HERE / name).write_bytes(data)


if __name__ == "__main__":
    main()
