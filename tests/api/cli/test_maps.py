"""`journeyminer map`: templates, drafts and validation from the command line."""

from __future__ import annotations

import json
import time
from pathlib import Path

from typer.testing import CliRunner

from journeyminer.api.cli.common import EXIT_BAD_INPUT
from journeyminer.api.cli.main import app
from journeyminer.miner.maps.designed import load_map, parse_map

ROOT = Path(__file__).resolve().parents[3]
runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


def test_init_prints_a_valid_template_in_both_languages() -> None:
    for template in ("five_phase", "see_think_do_care"):
        for language in ("en", "nl"):
            result = run("map", "init", "--template", template, "--language", language)
            assert result.exit_code == 0, result.output
            assert parse_map(result.stdout, format="toml").phases


def test_init_refuses_an_unknown_template() -> None:
    result = run("map", "init", "--template", "swimlanes")
    assert result.exit_code == EXIT_BAD_INPUT
    assert "five_phase" in result.stderr


def test_draft_from_the_sample_log_is_a_valid_map(tmp_path: Path) -> None:
    sample = ROOT / "datasets" / "omnichannel"
    log = tmp_path / "log.parquet"
    sources = [f"{sample / n}.csv={n}" for n in ("web", "call_center", "crm")]
    assert run("ingest", *sources, "--out", str(log)).exit_code == 0
    out = tmp_path / "draft.toml"
    result = run("map", "draft", str(log), "--out", str(out))
    assert result.exit_code == 0, result.output
    drafted = load_map(out)
    assert {t.id for t in drafted.touchpoints} >= {"landing_page", "product_page", "add_to_cart"}


def test_a_dataset_folder_drafts_what_the_same_log_as_one_file_drafts(tmp_path: Path) -> None:
    from tests.api.cli.test_compare import ingest_sample

    one = ingest_sample(tmp_path / "log.parquet")
    folder = ingest_sample(tmp_path / "log", "--partitions", "4")
    for extra in ([], ["--goal", "payment", "--phases", "3"]):
        want = run("map", "draft", str(one), "--json", *extra)
        got = run("map", "draft", str(folder), "--json", "--workers", "2", *extra)
        assert want.exit_code == got.exit_code == 0, got.output
        assert got.stdout_bytes == want.stdout_bytes
    assert json.loads(want.stdout)["goal_choice"]["goals"] == ["payment"]


def test_validate_accepts_the_sample_map() -> None:
    result = run("map", "validate", str(ROOT / "datasets" / "omnichannel" / "map.toml"), "--json")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["valid"] and data["phases"] == 5


def test_validate_lists_every_problem_with_its_line() -> None:
    broken = ROOT / "tests" / "data" / "maps" / "broken.toml"
    result = run("map", "validate", str(broken), "--json")
    assert result.exit_code == EXIT_BAD_INPUT
    problems = json.loads(result.stdout)["problems"]
    assert len(problems) >= 5
    assert all(p["line"] for p in problems)
    assert any("landing_pag" in p["message"] for p in problems)
    human = run("map", "validate", str(broken))
    assert "broken.toml, line" in human.stderr and "Traceback" not in human.stderr


def test_validate_refuses_the_yaml_alias_bomb_in_under_a_second() -> None:
    bomb = ROOT / "tests" / "data" / "maps" / "alias_bomb.yaml"
    started = time.perf_counter()
    result = run("map", "validate", str(bomb), "--json")
    assert time.perf_counter() - started < 1.0  # 30+ s and 4.4 GB before (issue 14)
    assert result.exit_code == EXIT_BAD_INPUT
    report = json.loads(result.stdout)
    assert report["limit"] == "yaml_aliases" and report["problems"][0]["line"] == 2
    human = run("map", "validate", str(bomb))
    assert human.exit_code == EXIT_BAD_INPUT and "(yaml_aliases)" in human.stderr


def test_validate_takes_its_limits_from_the_environment() -> None:
    small = ROOT / "tests" / "data" / "maps" / "small.toml"
    env = {"JOURNEYMINER_MAX_MAP_NODES": "20"}
    result = runner.invoke(app, ["map", "validate", str(small), "--json"], env=env)
    assert result.exit_code == EXIT_BAD_INPUT
    assert json.loads(result.stdout)["limit"] == "max_map_nodes"


def test_draft_says_its_goal_and_coverage_and_takes_named_goals(tmp_path: Path) -> None:
    path = tmp_path / "fines.csv"
    rows = ["case_id,activity,timestamp"]
    paths = [
        (["Create Fine", "Send Fine", "Send for Credit Collection"], 5),
        (["Create Fine", "Payment"], 4),
        (["Create Fine", "Send Fine"], 1),
    ]
    n = 0
    for steps, times in paths:
        for _ in range(times):
            rows += [f"c{n},{a},2024-01-01T0{i}:00:00Z" for i, a in enumerate(steps)]
            n += 1
    path.write_text("\n".join(rows) + "\n")
    result = run("map", "draft", str(path), "--phases", "3")
    assert result.exit_code == 0, result.output
    assert 'goal = ["Payment"]' in result.stdout
    assert "goal: Payment, chosen because its name reads as success" in result.stderr
    assert "journeys end at: Send for Credit Collection 50%, Payment 40%, Send Fine 10%" in (
        result.stderr.replace("\n", " ")
    )
    assert "the draft covers 40% of the journeys" in result.stderr.replace("\n", " ")
    named = run("map", "draft", str(path), "--goal", "Send for Credit Collection", "--json")
    data = json.loads(named.stdout)
    assert 'goal = ["Send for Credit Collection"]' in data["map"]
    assert data["goal_choice"]["chosen_by"] == "user" and data["coverage"] == 0.5
    bad = run("map", "draft", str(path), "--goal", "Paid")
    assert bad.exit_code == EXIT_BAD_INPUT
    assert "goal 'Paid' is not a touchpoint of the log" in bad.stderr
