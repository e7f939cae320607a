"""A corpus of bad inputs (`tests/data/bad/`, written by its `make.py`) as a regression suite.

Each case is one malformed file or request with what it must answer: an HTTP status (the
request's own, or the `error` of the job it queued) or a CLI exit code, and a fragment of
the message. No case may answer 5xx, and after each one the data stored before it (a log
and a map) reads the same: same version, same `GET`.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import httpx
import pytest
from starlette.exceptions import StarletteDeprecationWarning
from typer.testing import CliRunner

with warnings.catch_warnings():
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

from journeyminer.api.app import create_app
from journeyminer.api.cli.main import app as cli
from journeyminer.api.settings import Settings
from journeyminer.api.store import Store

from .conftest import API, SAMPLE, Api, assert_problem

BAD = Path(__file__).resolve().parents[1] / "data" / "bad"
BOUNDARY = "corpus-boundary"


@dataclass
class Corpus:
    """The app every case runs against, with the log and the map stored before any case."""

    api: Api
    log_id: str
    map_id: str

    def snapshot(self) -> tuple[Any, ...]:
        """What must read the same after every case."""
        client = self.api.client
        logs = sorted(item["id"] for item in client.get(f"{API}/logs").json()["logs"])
        return (
            client.get(f"{API}/logs/{self.log_id}").json(),
            client.get(f"{API}/maps/{self.map_id}").json(),
            logs,
        )


Send = Callable[[Corpus], httpx.Response]


@dataclass(frozen=True)
class Case:
    """One bad input: how to send it, the status it must get, a fragment of its message."""

    id: str
    send: Send
    status: int
    fragment: str
    where: Literal["request", "job"] = "request"


def _file(name: str, field: str = "files") -> tuple[str, tuple[str, bytes, str]]:
    return (field, (name, (BAD / name).read_bytes(), "application/octet-stream"))


def upload(name: str, **form: Any) -> Send:
    """POST /logs with one corpus file (preset web unless the form says otherwise)."""
    data = form or {"preset": "web"}
    return lambda c: c.api.client.post(f"{API}/logs", files=[_file(name)], data=data)


def append(name: str, **form: Any) -> Send:
    """POST /logs/{id}/events to the stored log with one corpus file."""
    data = form or {"preset": "web"}
    return lambda c: c.api.client.post(
        f"{API}/logs/{c.log_id}/events", files=[_file(name)], data=data
    )


def with_mapping(source: str, mapping: str) -> Send:
    """POST /logs with a corpus source and a corpus mapping file."""
    return lambda c: c.api.client.post(
        f"{API}/logs", files=[_file(source), _file(mapping, "mapping")]
    )


def new_map(name: str) -> Send:
    """POST /maps with a corpus map file as its text."""
    fmt = name.rsplit(".", 1)[1]
    text = (BAD / name).read_text()
    return lambda c: c.api.client.post(
        f"{API}/maps", json={"name": name, "format": fmt, "text": text or " "}
    )


def put_map(name: str) -> Send:
    """PUT a corpus map as a new version of the stored map."""
    fmt = name.rsplit(".", 1)[1]
    text = (BAD / name).read_text()
    return lambda c: c.api.client.put(f"{API}/maps/{c.map_id}", json={"format": fmt, "text": text})


def body(method: str, path: str, content: Any, content_type: str = "application/json") -> Send:
    """A request with a raw or JSON body; `{log}`/`{map}` in the path are the stored ones."""
    data = content if isinstance(content, bytes | str) else json.dumps(content)

    def send(c: Corpus) -> httpx.Response:
        url = API + path.format(log=c.log_id, map=c.map_id)
        return c.api.client.request(
            method, url, content=data, headers={"Content-Type": content_type}
        )

    return send


def multipart(*parts: tuple[str, str | None, bytes], path: str = "/logs") -> Send:
    """A hand-made multipart body: (field, file name or None, data) per part."""
    out = b""
    for field, filename, data in parts:
        disposition = f'form-data; name="{field}"'
        if filename is not None:
            disposition += f'; filename="{filename}"'
        out += f"--{BOUNDARY}\r\nContent-Disposition: {disposition}\r\n\r\n".encode()
        out += data + b"\r\n"
    out += f"--{BOUNDARY}--\r\n".encode()
    return body("POST", path, out, f"multipart/form-data; boundary={BOUNDARY}")


WEB = (SAMPLE / "web.csv").read_bytes()
GOOD_MAP = (SAMPLE / "map.toml").read_text()
J = "job"

CASES: list[Case] = [
    # -- CSV sources ----------------------------------------------------------------------
    Case("csv-empty", upload("empty.csv"), 422, "empty"),
    Case("csv-header-only", upload("header_only.csv"), 422, "no events", J),
    Case("csv-blank-lines", upload("blank_lines.csv"), 422, "header", J),
    Case(
        "csv-wrong-delimiter",
        upload("semicolons.csv", mapping='{"delimiter": ",", "case": "visitor_id"}'),
        422,
        "no case column",
    ),
    Case("mapping-toml-syntax", with_mapping("semicolons.csv", "mapping_syntax.toml"), 422, "TOML"),
    Case("csv-bad-timestamp", upload("bad_timestamps.csv"), 422, "row 3", J),
    Case("csv-all-bad-timestamps", upload("all_bad_timestamps.csv"), 422, "timestamp", J),
    Case("csv-huge-epoch", upload("huge_epoch.csv"), 422, "timestamp", J),
    Case("csv-ragged", upload("ragged.csv"), 422, "fields", J),
    Case("csv-latin1", upload("latin1.csv"), 422, "UTF-8", J),
    Case("csv-bom", upload("bom.csv"), 200, "", J),
    Case("csv-nul-bytes", upload("nul_bytes.csv"), 200, "", J),
    Case("csv-huge-header", upload("huge_header.csv"), 422, "max_header_bytes"),
    Case("csv-wide", upload("wide.csv"), 422, "max_columns"),
    Case("csv-no-activity-column", upload("no_activity_column.csv"), 422, "no activity column"),
    Case("csv-empty-activity", upload("empty_activity.csv"), 422, "has no activity", J),
    Case("csv-long-value", upload("long_value.csv"), 422, "max_value_bytes", J),
    Case("csv-duplicate-header", upload("duplicate_header.csv"), 422, "duplicate column", J),
    Case("csv-unclosed-quote", upload("unclosed_quote.csv"), 422, "could not parse", J),
    Case("csv-binary", upload("binary.csv"), 422, "no case column"),
    Case("csv-gzip-truncated", upload("truncated.csv.gz"), 422, "compressed file ended", J),
    Case("csv-many-activities", upload("many_activities.csv"), 422, "max_activities", J),
    Case("csv-append-latin1", append("latin1.csv"), 422, "UTF-8", J),
    Case("csv-append-long-value", append("long_value.csv"), 422, "max_value_bytes", J),
    Case("csv-append-many-activities", append("many_activities.csv"), 422, "max_activities", J),
    # -- JSON lines -----------------------------------------------------------------------
    Case("jsonl-bad-line", upload("bad_line.jsonl", mapping="{}"), 422, "line 2", J),
    Case("jsonl-arrays", upload("arrays.jsonl", mapping="{}"), 422, "not a JSON object", J),
    Case("jsonl-wrong-keys", upload("wrong_keys.jsonl", mapping="{}"), 422, "no case column"),
    # -- XES ------------------------------------------------------------------------------
    Case("xes-malformed", upload("malformed.xes", mapping="{}"), 422, "XES", J),
    Case("xes-not-xml", upload("not_xml.xes", mapping="{}"), 422, "XES", J),
    Case("xes-no-traces", upload("no_traces.xes", mapping="{}"), 422, "no events", J),
    Case(
        "xes-no-concept-name",
        upload("no_concept_name.xes", mapping="{}"),
        422,
        "no activity column",
        J,
    ),
    Case("xes-bad-timestamp", upload("bad_timestamp.xes", mapping="{}"), 422, "time:timestamp", J),
    Case(
        "xes-gzip-truncated",
        upload("truncated.xes.gz", mapping="{}"),
        422,
        "compressed file ended",
        J,
    ),
    # -- OCEL 2.0 -------------------------------------------------------------------------
    Case(
        "ocel-json-malformed",
        upload("malformed.jsonocel", mapping="{}"),
        422,
        "not a valid OCEL 2.0",
        J,
    ),
    Case(
        "ocel-no-objects-of-type",
        upload("no_customers.jsonocel", mapping='{"object_type": "customer"}'),
        422,
        "customer",
        J,
    ),
    Case(
        "ocel-bad-time", upload("bad_time.jsonocel", mapping="{}"), 422, "not a valid OCEL 2.0", J
    ),
    Case(
        "ocel-events-not-list",
        upload("events_not_list.jsonocel", mapping="{}"),
        422,
        "not a valid OCEL 2.0",
        J,
    ),
    Case("ocel-xml-malformed", upload("malformed.xmlocel", mapping="{}"), 422, "object_type", J),
    Case("ocel-xml-no-events", upload("no_events.xmlocel", mapping="{}"), 422, "object_type", J),
    # -- Parquet --------------------------------------------------------------------------
    Case("parquet-truncated", upload("truncated.parquet"), 422, "parquet", J),
    Case("parquet-not-parquet", upload("not_parquet.parquet"), 422, "parquet", J),
    Case("parquet-empty", upload("empty.parquet"), 422, "no events", J),
    Case("parquet-bool-timestamps", upload("bool_timestamps.parquet"), 422, "not a timestamp", J),
    Case("parquet-list-activity", upload("list_activity.parquet"), 422, "not text", J),
    # -- source mappings and form fields --------------------------------------------------
    Case(
        "mapping-unknown-field",
        with_mapping("semicolons.csv", "mapping_unknown_field.toml"),
        422,
        "activty",
    ),
    Case(
        "mapping-wrong-type", with_mapping("semicolons.csv", "mapping_wrong_type.json"), 422, "case"
    ),
    Case("mapping-text-not-a-table", upload("bom.csv", mapping="[1, 2]"), 422, "mapping"),
    Case("form-unknown-preset", upload("bom.csv", preset="telepathy"), 422, "telepathy"),
    Case(
        "form-bad-timezone", upload("bom.csv", preset="web", timezone="Mars/Olympus"), 422, "Mars"
    ),
    Case("form-huge-gap", upload("bom.csv", preset="web", gap="99999999999999999d"), 422, "gap"),
    Case("form-bad-gap", upload("bom.csv", preset="web", gap="soon"), 422, "gap"),
    Case("form-too-many-presets", upload("bom.csv", preset=["web", "crm"]), 422, "preset"),
    Case(
        "form-bad-timestamp-format",
        upload("bom.csv", mapping='{"timestamp_format": "%Q%"}'),
        422,
        "timestamp_format",
    ),
    Case(
        "append-unknown-log",
        body("POST", "/logs/log_nope/events", b"", "multipart/form-data; boundary=x"),
        404,
        "log_nope",
    ),
    # -- multipart ------------------------------------------------------------------------
    Case("multipart-no-files", multipart(("preset", None, b"web")), 422, "no source file"),
    Case("multipart-wrong-file-field", multipart(("file", "web.csv", WEB)), 422, "'file'"),
    Case(
        "multipart-unknown-text-field",
        multipart(("files", "web.csv", WEB), ("colour", None, b"red")),
        422,
        "colour",
    ),
    Case(
        "multipart-duplicate-name",
        multipart(("files", "web.csv", WEB), ("name", None, b"a"), ("name", None, b"b")),
        422,
        "at most one 'name'",
    ),
    Case(
        "multipart-duplicate-timezone",
        multipart(
            ("files", "web.csv", WEB), ("timezone", None, b"UTC"), ("timezone", None, b"CET")
        ),
        422,
        "timezone",
    ),
    Case(
        "multipart-two-identity-tables",
        multipart(
            ("files", "web.csv", WEB), ("identities", "a.csv", b"x"), ("identities", "b.csv", b"y")
        ),
        422,
        "identity table",
    ),
    Case("multipart-unsupported-file", multipart(("files", "web.exe", WEB)), 415, ".exe"),
    Case(
        "multipart-no-boundary", body("POST", "/logs", b"x", "multipart/form-data"), 415, "boundary"
    ),
    Case("multipart-json-instead", body("POST", "/logs", {"files": []}), 415, "multipart"),
    Case(
        "multipart-garbage",
        body("POST", "/logs", b"--b\r\nnot a header\r\n\r\n", "multipart/form-data; boundary=b"),
        400,
        "multipart",
    ),
    Case(
        "multipart-cut-mid-file",
        body(
            "POST",
            "/logs",
            b'--b\r\nContent-Disposition: form-data; name="files"; filename="web.csv"\r\n\r\nx,y',
            "multipart/form-data; boundary=b",
        ),
        422,
        "middle of a file",
    ),
    Case(
        "multipart-non-utf8-field",
        multipart(("files", "web.csv", WEB), ("name", None, b"\xff\xfe")),
        422,
        "UTF-8",
    ),
    # -- designed maps --------------------------------------------------------------------
    Case("map-toml-syntax", new_map("map_syntax.toml"), 422, "TOML"),
    Case("map-json-syntax", new_map("map_syntax.json"), 422, "JSON"),
    Case("map-yaml-syntax", new_map("map_syntax.yaml"), 422, "YAML"),
    Case("map-unknown-touchpoint", new_map("map_unknown_touchpoint.toml"), 422, "nowhere"),
    Case("map-unknown-phase", new_map("map_unknown_phase.toml"), 422, "elsewhere"),
    Case("map-duplicate-phase", new_map("map_duplicate_phase.toml"), 422, "duplicate phase"),
    Case("map-flow-cycle-of-unknowns", new_map("map_flow_cycle_unknown.toml"), 422, "ghost"),
    Case("map-empty", new_map("map_empty.toml"), 422, "no 'name'"),
    Case("map-wrong-types", new_map("map_wrong_types.toml"), 422, "phases"),
    Case("map-yaml-list-root", new_map("map_list_root.yaml"), 422, "must be a table"),
    Case("map-yaml-alias-bomb", new_map("map_alias_bomb.yaml"), 422, "yaml_aliases"),
    Case("map-json-deep", new_map("map_deep.json"), 422, "max_map_depth"),
    Case("map-json-many-nodes", new_map("map_many_nodes.json"), 422, "max_map_nodes"),
    Case("map-put-bomb", put_map("map_alias_bomb.yaml"), 422, "yaml_aliases"),
    Case("map-put-syntax", put_map("map_syntax.toml"), 422, "TOML"),
    # -- JSON bodies ----------------------------------------------------------------------
    Case("json-not-json", body("POST", "/maps", b'{"name": '), 422, "JSON decode error"),
    Case("json-array-body", body("POST", "/maps", []), 422, "valid dictionary"),
    Case(
        "json-unknown-field",
        body("POST", "/maps", {"name": "m", "text": GOOD_MAP, "colour": 1}),
        422,
        "colour",
    ),
    Case("json-wrong-type", body("POST", "/maps", {"name": 5, "text": GOOD_MAP}), 422, "name"),
    Case(
        "json-unknown-format",
        body("POST", "/maps", {"name": "m", "format": "xml", "text": "x"}),
        422,
        "format",
    ),
    Case(
        "json-taken-name",
        body("POST", "/maps", {"name": "baseline", "text": GOOD_MAP}),
        409,
        "baseline",
    ),
    Case(
        "json-analysis-unknown-kind",
        body("POST", "/analyses", {"log": "{log}", "kind": "guess"}),
        422,
        "kind",
    ),
    Case("json-analysis-log-int", body("POST", "/analyses", {"log": 5}), 422, "log"),
    Case(
        "json-analysis-filters-list",
        body("POST", "/analyses", {"log": "{log}", "filters": [1]}),
        422,
        "filters",
    ),
    Case(
        "json-analysis-unknown-filter",
        body("POST", "/analyses", {"log": "{log}", "filters": {"colour": 1}}),
        422,
        "colour",
    ),
    Case(
        "json-analysis-huge-version",
        body(
            "POST",
            "/analyses",
            {"log": "{log}", "map": "{map}", "kind": "compare", "map_version": 2**70},
        ),
        422,
        "map_version",
    ),
    Case(
        "json-analysis-unknown-log", body("POST", "/analyses", {"log": "log_nope"}), 404, "log_nope"
    ),
    Case(
        "json-analysis-deep-nesting",
        body("POST", "/analyses", '{"log": "x", "filters": ' + "[" * 100_000 + "]" * 100_000 + "}"),
        400,
        "parsing the body",
    ),
    Case(
        "json-draft-bad-phases",
        body("POST", "/maps/draft", {"log": "{log}", "phases": "x"}),
        422,
        "phases",
    ),
    Case("json-put-empty-text", body("PUT", "/maps/{map}", {"text": ""}), 422, "text"),
]

CLI_CASES: list[tuple[str, list[str], int, str]] = [
    ("cli-ingest-empty", ["ingest", "{bad}/empty.csv=web"], 2, "empty"),
    ("cli-ingest-latin1", ["ingest", "{bad}/latin1.csv=web"], 2, "UTF-8"),
    ("cli-ingest-long-value", ["ingest", "{bad}/long_value.csv=web"], 2, "max_value_bytes"),
    ("cli-ingest-huge-header", ["ingest", "{bad}/huge_header.csv=web"], 2, "max_header_bytes"),
    ("cli-mine-malformed-xes", ["mine", "{bad}/malformed.xes"], 2, "XES"),
    (
        "cli-mine-truncated-parquet",
        ["mine", "{bad}/truncated.parquet", "--preset", "web"],
        2,
        "parquet",
    ),
    ("cli-map-alias-bomb", ["map", "validate", "{bad}/map_alias_bomb.yaml"], 2, "yaml_aliases"),
    ("cli-map-syntax", ["map", "validate", "{bad}/map_syntax.toml"], 2, "TOML"),
    ("cli-map-deep", ["map", "validate", "{bad}/map_deep.json"], 2, "max_map_depth"),
]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Corpus]:
    """One app for the whole corpus, with a log and a map stored first."""
    settings = Settings(
        workspace=tmp_path_factory.mktemp("corpus"), max_activities=50, max_map_nodes=5_000
    )
    with Store.open(settings) as store:
        key_id, token = store.create_api_key(store.create_tenant("acme"))
        _, other = store.create_api_key(store.create_tenant("globex"))
    app = create_app(settings)
    with TestClient(app, headers={"Authorization": f"Bearer {token}"}) as client:
        api = Api(app, client, settings, token, other, key_id)
        log_id = api.ingest("web", identities=False, data={"name": "baseline"})
        made = client.post(f"{API}/maps", json={"name": "baseline", "text": GOOD_MAP})
        assert made.status_code == 201, made.text
        yield Corpus(api, log_id, made.json()["id"])


def test_the_corpus_has_at_least_60_cases_and_uses_every_file() -> None:
    assert len(CASES) + len(CLI_CASES) >= 60
    assert len({c.id for c in CASES}) == len(CASES)
    source = Path(__file__).read_text()
    unused = [p.name for p in BAD.iterdir() if p.suffix != ".py" and f'"{p.name}"' not in source]
    assert unused == []


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_a_bad_input_gets_its_status_and_message_and_stored_data_is_intact(
    corpus: Corpus, case: Case
) -> None:
    before = corpus.snapshot()
    response = case.send(corpus)
    assert response.status_code < 500, response.text
    if case.where == "job":
        assert response.status_code == 202, response.text
        job = corpus.api.wait(response.json()["status_url"])
        if case.status == 200:
            assert job["status"] == "done", job
            detail = ""
        else:
            assert job["status"] == "failed", job
            error = job["error"]
            assert error["status"] == case.status, error
            detail = error["detail"]
            assert "Internal error" not in error["title"], error
        created = job["log"] if job["kind"] == "ingest" else None
        if created is not None:
            assert corpus.api.client.delete(f"{API}/logs/{created}").status_code == 204
    else:
        detail = assert_problem(response, case.status)["detail"]
    assert case.fragment.lower() in detail.lower(), detail
    assert corpus.snapshot() == before


@pytest.mark.parametrize(
    ("args", "code", "fragment"), [c[1:] for c in CLI_CASES], ids=[c[0] for c in CLI_CASES]
)
def test_a_bad_input_to_the_cli_gets_its_exit_code_and_message(
    tmp_path: Path, args: list[str], code: int, fragment: str
) -> None:
    argv = [a.format(bad=BAD) for a in args]
    if argv[0] == "ingest":
        argv += ["--out", str(tmp_path / "log.parquet")]
    result = CliRunner().invoke(cli, argv)
    assert result.exit_code == code, result.output
    assert fragment.lower() in result.output.lower(), result.output
    assert "internal error" not in result.output.lower()
