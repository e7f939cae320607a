"""Designed journey maps: loading, formats, validation errors, templates, drafts, pm4py models."""

from __future__ import annotations

import json
import re
import sys
import tomllib
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest

from journeyminer.miner.errors import InputError, MapValidationError
from journeyminer.miner.log import EventLog
from journeyminer.miner.maps.designed import (
    DesignedMap,
    Phase,
    Rule,
    TimeFrame,
    Touchpoint,
    default_flows,
    load_map,
    parse_map,
)
from journeyminer.miner.maps.drafting import TEMPLATES, draft_map, map_template, phase_synonym
from journeyminer.miner.maps.model_import import map_from_bpmn, map_from_petri_net
from journeyminer.miner.synthetic import scenario
from tests.conftest import dev_dependency

ROOT = Path(__file__).resolve().parents[3]
MAPS = ROOT / "tests" / "data" / "maps"
SAMPLE = ROOT / "datasets" / "omnichannel"
SMALL = (MAPS / "small.toml").read_text(encoding="utf-8")


def _line_of(text: str, needle: str) -> int:
    """The last line holding `needle` (a duplicate is reported where it repeats)."""
    return [n for n, row in enumerate(text.splitlines(), 1) if needle in row][-1]


def _error(text: str, *, format: str = "toml", file: str = "map.toml") -> MapValidationError:
    with pytest.raises(MapValidationError) as info:
        parse_map(text, format=format, file=file)
    return info.value


# -- loading ------------------------------------------------------------------------------
def test_the_generators_map_loads_unchanged() -> None:
    m = load_map(SAMPLE / "map.toml")
    assert m.name == "Omnichannel webshop" and m.version == "as-is"
    assert [p.id for p in m.phases] == [p for p, _ in scenario.PHASES]
    assert m.touchpoints == tuple(Touchpoint(**vars(t)) for t in scenario.TOUCHPOINTS)
    assert m.start == scenario.START and m.goal == scenario.GOAL
    assert m.flows == scenario.FLOWS and m.explicit_flows
    assert [(t.from_touchpoint, t.to_touchpoint, t.max) for t in m.time_frames] == [
        ("checkout", "payment", timedelta(minutes=15)),
        ("order_confirmed", "delivered", timedelta(days=3)),
        ("complaint", "case_closed", timedelta(days=7)),
    ]
    assert "tv_ad" not in m.observable and "ad_click" in m.observable
    assert m.phase_of("delivered") == Phase("service", "Service")
    assert m.phase_of("phone_order") is None


def test_toml_json_and_yaml_carry_the_same_map() -> None:
    toml, json_, yaml = (load_map(MAPS / f"small.{ext}") for ext in ("toml", "json", "yaml"))
    assert toml == json_ == yaml
    assert toml.phases[1].max == timedelta(days=2)
    assert toml.rules == (Rule("within", "checkout", "order_confirmed", timedelta(hours=1)),)
    assert toml.touchpoint_index["landing_page"].label == "Landing page"
    assert toml.touchpoint_index["ad_click"].label == "ad_click"


def _maps() -> list[DesignedMap]:
    templates = [
        parse_map(map_template(t, language=lang)) for t in TEMPLATES for lang in ("en", "nl")
    ]
    return [
        load_map(SAMPLE / "map.toml"),
        load_map(MAPS / "small.toml"),
        load_map(MAPS / "default_flows.toml"),
        *templates,
    ]


@pytest.mark.parametrize("m", _maps(), ids=lambda m: m.name)
def test_every_format_round_trips(m: DesignedMap) -> None:
    assert parse_map(m.to_toml()) == m
    assert parse_map(m.to_json(), format="json") == m
    assert parse_map(m.to_yaml(), format="yaml") == m
    assert json.loads(m.to_json()) == m.to_dict() == tomllib.loads(m.to_toml())


def test_odd_strings_and_fractional_durations_round_trip() -> None:
    m = DesignedMap(
        name='Quote " backslash \\ tab \t café ✓ \x7f',
        phases=(Phase("p 1", "Phase one", ("fase één",), timedelta(milliseconds=1500)),),
        touchpoints=(Touchpoint("étape ✓", "p 1"), Touchpoint("a=b", "p 1", name="line\nbreak")),
        start=("étape ✓",),
        goal=("a=b",),
        flows=(("étape ✓", "a=b"),),
        time_frames=(TimeFrame("étape ✓", "a=b", timedelta(seconds=90)),),
    )
    assert parse_map(m.to_toml()) == m
    assert parse_map(m.to_yaml(), format="yaml") == m


def test_a_phase_time_frame_may_be_written_as_a_time_frame() -> None:
    text = (
        SMALL.replace('max = "2d"\n', "", 1) + '\n[[time_frames]]\nphase = "purchase"\nmax = "2d"\n'
    )
    assert parse_map(text) == load_map(MAPS / "small.toml")


# -- flows --------------------------------------------------------------------------------
def test_default_flows_stay_in_the_phase_or_go_to_the_next_one_without_self_loops() -> None:
    m = load_map(MAPS / "default_flows.toml")
    assert not m.explicit_flows and "flows" not in m.to_dict()["journey"]
    assert set(m.flows) == {
        ("ad_click", "landing_page"),
        ("landing_page", "ad_click"),
        ("ad_click", "product_page"),
        ("landing_page", "product_page"),
        # the phase "empty" has no touchpoints: consideration goes on to purchase
        ("product_page", "checkout"),
        ("product_page", "order_confirmed"),
        ("checkout", "order_confirmed"),
        ("order_confirmed", "checkout"),
    }
    assert m.flows == default_flows(m.phases, m.touchpoints)
    assert m.start == ("ad_click", "landing_page")  # default: the first phase
    assert m.phases[0].name == "Awareness"  # default: the id, capitalised


def test_allowed_flows_look_through_unobservable_touchpoints() -> None:
    m = load_map(MAPS / "small.toml")
    assert ("tv_ad", "landing_page") in m.allowed
    assert m.observable_start == {"ad_click", "landing_page"}  # landing_page: after the TV ad
    o = load_map(SAMPLE / "map.toml")
    assert {("tv_ad", "ad_click")} < o.allowed and ("email_click", "product_page") not in o.allowed


def test_transition_matrix_marks_designed_flows_between_log_activities() -> None:
    m = load_map(MAPS / "small.toml")
    activities = ["ad_click", "checkout", "landing_page", "order_confirmed", "phone_order"]
    got = m.transition_matrix(activities)
    assert got.shape == (6, 6) and got.dtype == np.bool_
    expected = np.zeros((6, 6), dtype=bool)
    for a, b in [
        ("ad_click", "landing_page"),
        ("landing_page", "checkout"),
        ("checkout", "order_confirmed"),
    ]:
        expected[activities.index(a), activities.index(b)] = True
    assert (got == expected).all()
    assert not got[4].any() and not got[:, 4].any() and not got[5].any() and not got[:, 5].any()
    repeats = m.transition_matrix(activities, repeats=True)
    assert list(np.diag(repeats)) == [True, True, True, True, False, False]
    assert list(m.phase_codes(activities)) == [0, 1, 0, 1, -1, -1]
    assert list(m.mask(activities, m.observable_start)) == [True, False, True, False, False, False]
    assert m.transition_matrix([]).shape == (1, 1)


# -- validation ---------------------------------------------------------------------------
BROKEN = (MAPS / "broken.toml").read_text(encoding="utf-8")


def test_every_problem_is_reported_with_its_line_and_id() -> None:
    with pytest.raises(MapValidationError) as info:
        load_map(MAPS / "broken.toml")
    problems = info.value.extra["problems"]
    marked = [n for n, row in enumerate(BROKEN.splitlines(), 1) if "# <-" in row]
    assert [p["line"] for p in problems] == marked
    assert [p["id"] for p in problems] == [
        "awareness",
        "ad_click",
        "awarenes",
        "obsevable",
        "ad_clik",
        "landing_pag",
        "deliverd",
        "3 days",
        "promo_email",
    ]
    assert str(info.value).startswith("broken.toml, line 8: duplicate phase id 'awareness'")
    assert "(and 8 more problems)" in str(info.value)
    assert info.value.extra["line"] == 8 and info.value.extra["id"] == "awareness"
    assert info.value.problem()["problems"] == problems


@pytest.mark.parametrize(
    ("old", "new", "needle", "message"),
    [
        (
            '["ad_click", "landing_page"]',
            '["ad_click", "landing_pag"]',
            '"landing_pag"',
            r"flow \['ad_click', 'landing_pag'\] names unknown touchpoint 'landing_pag' "
            r"\(did you mean 'landing_page'\? known: tv_ad, ad_click, landing_page, checkout",
        ),
        (
            'id = "checkout"',
            'id = "ad_click"',
            'id = "ad_click"',
            "duplicate touchpoint id 'ad_click'",
        ),
        (
            'id = "purchase"',
            'id = "awareness"',
            'id = "awareness"',
            "duplicate phase id 'awareness'",
        ),
        (
            'phase = "purchase"',
            'phase = "purchse"',
            "purchse",
            "touchpoint 'checkout' is in unknown phase 'purchse'",
        ),
        ('max = "15m"', 'max = "15 minutes"', "15 minutes", "max must be a duration like 90s"),
        ('max = "15m"', 'max = "0s"', 'max = "0s"', "max must be a duration"),
        (
            'start = ["tv_ad", "ad_click"]',
            'start = ["tv_ad", "ad_clik"]',
            "ad_clik",
            "journey start names unknown touchpoint 'ad_clik'",
        ),
        (
            'goal = ["order_confirmed"]',
            'goal = ["order"]',
            '["order"]',
            "journey goal names unknown touchpoint 'order'",
        ),
        (
            'goal = ["order_confirmed"]',
            'goal = ["tv_ad"]',
            'goal = ["tv_ad"]',
            "goal touchpoint 'tv_ad' is not observable",
        ),
        (
            'goal = ["order_confirmed"]',
            "goal = []",
            "goal = []",
            "journey goal lists no touchpoint",
        ),
        (
            'from = "checkout"',
            'from = "checkout_page"',
            "checkout_page",
            "time frame 'checkout_page' -> 'order_confirmed' names unknown touchpoint 'checkout_page'",
        ),
        (
            'then = "order_confirmed"',
            'then = "order_confirmd"',
            "order_confirmd",
            r"rule 1 \(within\) then names unknown touchpoint 'order_confirmd'",
        ),
        ('then = "order_confirmed"\n', "", "[[rules]]", r"rule 1 \(within\) needs 'then'"),
        (
            'kind = "within"',
            'kind = "before"',
            "before",
            'kind must be "within" or "not_while_open"',
        ),
        (
            "moment_of_truth = true",
            "moment_of_truth = 1",
            "moment_of_truth",
            "moment_of_truth must be true or false, found 1",
        ),
        (
            "off_stage = true",
            "offstage = true",
            "offstage",
            "unknown key 'offstage'; did you mean 'off_stage'",
        ),
        (
            'version = "to-be"',
            'version = "to-be"\ntitle = "x"',
            "title",
            "the map has unknown key 'title'",
        ),
    ],
)
def test_each_validation_error_names_the_file_line_and_id(
    old: str, new: str, needle: str, message: str
) -> None:
    text = SMALL.replace(old, new, 1)
    assert text != SMALL
    err = _error(text)
    line = _line_of(text, needle)
    assert str(err).startswith(f"map.toml, line {line}: "), str(err)
    assert re.search(message, str(err)), str(err)
    assert err.file == "map.toml" and err.extra["line"] == line


def test_the_unchanged_small_map_is_valid() -> None:
    assert parse_map(SMALL).name == "Small shop"


def test_missing_sections_are_named() -> None:
    err = _error('name = "x"\n')
    messages = [p["message"] for p in err.extra["problems"]]
    assert messages == [
        "the map has no 'phases'",
        "the map has no 'touchpoints'",
        "the map has no 'journey'",
    ]
    err = _error(SMALL.replace('goal = ["order_confirmed"]\n', ""))
    assert "[journey] has no 'goal'" in str(err)


@pytest.mark.parametrize(
    ("fmt", "text", "line", "reason"),
    [
        ("toml", 'name = "x"\n[[phases]\nid = "a"\n', 2, "not valid TOML"),
        ("json", '{"name": "x",\n "phases" []}', 2, "not valid JSON: Expecting ':' delimiter"),
        ("yaml", "name: x\nphases: [a,\n  b: : c\n", 3, "not valid YAML"),
        ("yaml", "- just\n- a list\n", 1, "the map must be a table"),
    ],
)
def test_syntax_errors_give_the_parsers_line(fmt: str, text: str, line: int, reason: str) -> None:
    err = _error(text, format=fmt, file=f"map.{fmt}")
    assert str(err).startswith(f"map.{fmt}, line {line}: {reason}"), str(err)


@pytest.mark.parametrize("fmt", ["json", "yaml"])
def test_json_and_yaml_errors_point_at_the_offending_line(fmt: str) -> None:
    text = (MAPS / f"small.{fmt}").read_text(encoding="utf-8")
    flow = {"json": '["ad_click", "landing_page"]', "yaml": "[ad_click, landing_page]"}[fmt]
    bad = text.replace(flow, flow.replace("landing_page", "landing_pag"))
    bad = bad.replace('"web", "moment_of_truth"', '"web", "moment_of_truht"')
    bad = bad.replace("moment_of_truth: true", "moment_of_truht: true")
    err = _error(bad, format=fmt, file=f"small.{fmt}")
    got = {p["id"]: p["line"] for p in err.extra["problems"]}
    assert got == {
        "moment_of_truht": _line_of(bad, "moment_of_truht"),
        "landing_pag": _line_of(bad, flow.replace("landing_page", "landing_pag")),
    }


def test_load_map_needs_a_known_suffix_and_a_readable_file(tmp_path: Path) -> None:
    with pytest.raises(MapValidationError, match=r"map\.txt.*expected a \.toml, \.json"):
        load_map(tmp_path / "map.txt")
    with pytest.raises(MapValidationError, match="cannot read the map"):
        load_map(tmp_path / "absent.toml")


def test_a_map_built_in_code_is_checked_too() -> None:
    with pytest.raises(
        MapValidationError, match="flow \\['a', 'b'\\] names unknown touchpoint 'b'"
    ):
        DesignedMap(
            name="x",
            phases=(Phase("p", "P"),),
            touchpoints=(Touchpoint("a", "p"),),
            start=("a",),
            goal=("a",),
            flows=(("a", "b"),),
        )


def test_the_published_schema_agrees_with_the_loader() -> None:
    jsonschema = dev_dependency("jsonschema")
    schema = json.loads((ROOT / "miner" / "maps" / "map.schema.json").read_text(encoding="utf-8"))
    validator = jsonschema.Draft202012Validator(schema)
    for m in _maps():
        validator.validate(m.to_dict())
    validator.validate(json.loads((MAPS / "small.json").read_text(encoding="utf-8")))
    for text in (SMALL.replace("off_stage", "offstage"), SMALL.replace('"15m"', '"15 min utes"')):
        assert not validator.is_valid(tomllib.loads(text))
        _error(text)


# -- templates ----------------------------------------------------------------------------
@pytest.mark.parametrize("name", TEMPLATES)
@pytest.mark.parametrize("language", ["en", "nl"])
def test_templates_load_and_validate(name: str, language: str) -> None:
    text = map_template(name, language=language)
    m = parse_map(text, file=f"{name}.toml")
    assert m.rules and m.time_frames and not m.explicit_flows
    assert all(t.observable for t in m.touchpoints if t.id in m.goal)
    other = "# nl:" if language == "en" else "# en:"
    assert other not in text and "# en:" not in text and "# nl:" not in text
    assert load_map(ROOT / "miner" / "maps" / "templates" / f"{name}.toml") == parse_map(
        map_template(name)
    )


def test_dutch_templates_name_phases_in_dutch() -> None:
    five = parse_map(map_template("five_phase", language="nl"))
    assert [p.name for p in five.phases] == [
        "Bewustwording",
        "Overweging",
        "Aankoop",
        "Service",
        "Ambassadeur",
    ]
    assert [phase_synonym(p.name) for p in five.phases] == [p.id for p in five.phases]
    stdc = parse_map(map_template("see_think_do_care", language="nl"))
    assert [phase_synonym(p.id) for p in stdc.phases] == [
        "awareness",
        "consideration",
        "purchase",
        "service",
    ]
    assert "Een ontworpen klantreis" in map_template("see_think_do_care", language="nl")


def test_phase_synonyms_cover_english_and_dutch() -> None:
    assert phase_synonym("overweging") == "consideration"
    assert phase_synonym(" Oriëntatie ") == "awareness"
    assert phase_synonym("orientatie") == "awareness"
    assert phase_synonym("ambassadeur") == "loyalty"
    assert phase_synonym("Do") == "purchase"
    assert phase_synonym("checkout") is None


def test_an_unknown_template_is_named() -> None:
    with pytest.raises(InputError, match="unknown map template 'aida'"):
        map_template("aida")


# -- drafts -------------------------------------------------------------------------------
def _log(journeys: dict[str, list[str]], channel: dict[str, str]) -> EventLog:
    rows = [
        (case, act, i, channel.get(act))
        for case, acts in journeys.items()
        for i, act in enumerate(acts)
    ]
    frame = pl.DataFrame(rows, schema=["case", "act", "t", "ch"], orient="row").with_columns(
        (pl.datetime(2024, 1, 1, time_zone="UTC") + pl.duration(minutes=pl.col("t"))).alias("ts")
    )
    return EventLog.from_frame(
        frame.drop("t"), case="case", activity="act", timestamp="ts", channel="ch"
    )


def test_a_draft_orders_frequent_activities_into_phases() -> None:
    journeys = {
        f"c{i}": seq
        for i, seq in enumerate(
            [["ad", "page", "cart", "pay", "done"]] * 6
            + [["ad", "page", "page", "cart"]] * 3
            + [["mail", "page", "cart", "pay", "done", "call"]] * 3
            + [["ad", "rare"]]
        )
    }
    log = _log(journeys, {"ad": "web", "page": "web", "cart": "web", "pay": "web", "call": "phone"})
    m = draft_map(log, phases=3, min_case_share=0.1)
    assert m == draft_map(log, phases=3, min_case_share=0.1)  # deterministic
    assert [p.id for p in m.phases] == ["phase_1", "phase_2", "phase_3"]
    assert [[t.id for t in m.touchpoints if t.phase == p.id] for p in m.phases] == [
        ["ad", "mail", "page"],
        ["cart", "pay"],
        ["done", "call"],
    ]
    assert m.start == ("ad", "mail")
    assert m.goal == ("done",)  # the most frequent end of the longest quarter
    assert set(m.flows) == {
        ("ad", "page"),
        ("mail", "page"),
        ("page", "cart"),
        ("cart", "pay"),
        ("pay", "done"),
        ("done", "call"),
    }  # no ("page", "page"): a repeat is rework; "rare" is below the threshold
    assert m.touchpoint_index["call"].channel == "phone"
    assert m.touchpoint_index["mail"].channel is None
    assert parse_map(m.to_toml()) == m


def test_a_draft_of_the_sample_log_is_a_valid_map() -> None:
    from journeyminer.miner.ingest.pipeline import ingest_sources, resolve_source

    specs = [
        resolve_source(str(SAMPLE / f"{name}.csv"), timezone="Europe/Amsterdam")
        for name in ("web", "call_center", "crm")
    ]
    log, _ = ingest_sources(specs, identities=SAMPLE / "identities.csv")
    m = draft_map(log, name="Sample")
    assert [p.id for p in m.phases] == [
        "awareness",
        "consideration",
        "purchase",
        "service",
        "loyalty",
    ]
    assert set(m.observable) == set(log.activities)  # every activity of the sample is frequent
    assert {"ad_click", "email_click"} <= set(m.start)
    order = [t.id for t in m.touchpoints]
    assert order.index("landing_page") < order.index("checkout") < order.index("delivered")
    assert m.touchpoint_index["support_call"].channel == "call_center"
    assert parse_map(m.to_toml(), file="draft.toml") == m
    stdc = draft_map(log, phases="see_think_do_care")
    assert [p.id for p in stdc.phases] == ["see", "think", "do", "care"]


def test_an_empty_log_cannot_be_drafted() -> None:
    empty = EventLog(
        pl.DataFrame(
            schema={
                "case_id": pl.String,
                "activity": pl.String,
                "timestamp": pl.Datetime("us", "UTC"),
                "channel": pl.String,
            }
        )
    )
    with pytest.raises(InputError, match="empty log"):
        draft_map(empty)


# -- pm4py models -------------------------------------------------------------------------
def _parallel_net() -> tuple[Any, Any]:
    pm4py = dev_dependency("pm4py")
    import pandas as pd

    frame = pd.DataFrame(
        {
            "case:concept:name": ["1"] * 4 + ["2"] * 4,
            "concept:name": ["a", "b", "c", "d", "a", "c", "b", "d"],
            "time:timestamp": pd.date_range("2024-01-01", periods=8, freq="h", tz="UTC"),
        }
    )
    return pm4py, pm4py.discover_petri_net_inductive(frame)


EXPECTED_NET_FLOWS = (("a", "b"), ("a", "c"), ("b", "c"), ("b", "d"), ("c", "b"), ("c", "d"))


def test_a_petri_net_becomes_a_map(tmp_path: Path) -> None:
    pm4py, (net, im, fm) = _parallel_net()
    pm4py.write_pnml(net, im, fm, str(tmp_path / "net.pnml"))
    m = map_from_petri_net(tmp_path / "net.pnml")
    assert m.name == "net" and [t.id for t in m.touchpoints] == ["a", "b", "c", "d"]
    assert m.start == ("a",) and m.goal == ("d",) and m.flows == EXPECTED_NET_FLOWS


def test_a_bpmn_model_becomes_a_map(tmp_path: Path) -> None:
    pm4py, (net, im, fm) = _parallel_net()
    pm4py.write_bpmn(
        pm4py.convert_to_bpmn(net, im, fm), str(tmp_path / "m.bpmn"), auto_layout=False
    )
    m = map_from_bpmn(tmp_path / "m.bpmn")
    assert m.start == ("a",) and m.goal == ("d",) and m.flows == EXPECTED_NET_FLOWS
    assert parse_map(m.to_toml()) == m


def test_without_pm4py_the_import_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setitem(sys.modules, "pm4py", None)
    with pytest.raises(ImportError, match=r"journeyminer\[pm4py\]"):
        map_from_bpmn(tmp_path / "m.bpmn")


def test_maps_are_checked_without_jsonschema_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "jsonschema", None)
    assert parse_map(SMALL) == load_map(MAPS / "small.toml")
    assert "unknown key 'offstage'" in str(_error(SMALL.replace("off_stage", "offstage")))
