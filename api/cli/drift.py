"""`journeyminer drift`: the same designed map against two periods of a log, and what changed."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from .common import (
    JsonFlag,
    Workers,
    app,
    check_cluster,
    cluster_executor,
    cluster_option,
    handle_errors,
    new_table,
    out,
    print_json,
    progress_bar,
)
from .compare import read_map_and_log
from .mine import human
from .source_options import NOT_GIVEN, SourceOptions, fold_line, source_options

if TYPE_CHECKING:
    from ...miner.usecases import PeriodDrift

# Labels of the measures `compare.drift` tests, for people.
_KINDS = {
    "fitness": "fitness",
    "conversion": "conversion",
    "leak_touchpoint": "leak at",
    "leak_phase": "leak in phase",
    "hidden_journey_share": "hidden journey share",
    "hidden_journey_conversion": "hidden journey conversion",
    "duration": "duration of closed journeys",
    "hidden_journey_duration": "hidden journey duration",
}


@app.command()
@source_options
def drift(
    log_path: Annotated[Path, typer.Argument(metavar="LOG", help="An ingested log or a raw file.")],
    map_path: Annotated[
        Path, typer.Option("--map", help="The designed journey map (TOML/JSON/YAML).")
    ],
    split_at: Annotated[
        str | None,
        typer.Option(
            "--split-at",
            metavar="ISO-8601",
            help="Where the first period ends: journeys that started before it are the first"
            " period, the rest the second (default: mid-way through the log's time range;"
            " without an offset: UTC).",
        ),
    ] = None,
    source: SourceOptions = NOT_GIVEN,
    out_path: Annotated[
        Path | None, typer.Option("--out", help="Also write the drift JSON to this file.")
    ] = None,
    top: Annotated[int, typer.Option(help="Rows per table in the summary.")] = 10,
    workers: Workers = None,
    cluster: Annotated[
        str | None,
        cluster_option(
            "Compare a stored log's partitions on a Dask cluster, both periods: each worker"
            " reads its partitions from the folder (a path every worker sees). A raw file runs"
            " on this machine (said on stderr)."
        ),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Compare two periods of a log with one designed map, and test what changed.

    Fitness, conversion, leaks, hidden journeys (new, vanished) and durations, each with a
    test and a p-value adjusted for the number of tests (Benjamini-Hochberg, significant at
    0.05).

    A stored log (a folder `ingest` wrote) is read a partition at a time; `--workers` reads
    several at once."""
    with handle_errors():
        check_cluster(cluster)
        split = _moment(split_at)
        from ...miner.usecases import drift_between_periods

        with progress_bar(not as_json) as update:
            designed, log, folds, on_cluster = read_map_and_log(
                "drift", map_path, log_path, source, cluster, update, 3
            )
            update("comparing both periods", 2, 3)
            with cluster_executor(cluster if on_cluster else None) as on:
                result = drift_between_periods(
                    log, designed, split_at=split, workers=workers, run=on
                )
        data = result.to_dict()
        if folds:
            data["lifecycle"] = folds[0].to_dict()
        if out_path is not None:
            out_path.parent.mkdir(parents=True, exist_ok=True)
            out_path.write_text(json.dumps(data, default=str, indent=2) + "\n")
        if as_json:
            print_json(data)
            return
        if folds:
            out.print(fold_line(folds[0]))
        _print_summary(result, designed.name, top)
        if out_path is not None:
            out.print(f"drift written to [bold]{out_path}[/]")


def _moment(text: str | None) -> datetime | None:
    """`--split-at` as a datetime (bad input names the option and the expected form)."""
    if text is None:
        return None
    from ...miner.errors import InputError

    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise InputError(
            "--split-at is not a moment",
            found=repr(text),
            expected="ISO-8601, e.g. 2024-07-01 or 2024-07-01T00:00:00+02:00",
        ) from None


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def _print_summary(result: PeriodDrift, map_name: str, top: int) -> None:
    d = result.drift
    periods = {r["period"]: r for r in d.periods.to_dicts()}
    out.print(
        f"[bold]{map_name}[/]: journeys that started before {result.split_at.isoformat()} "
        f"against those that started later"
    )
    table = new_table(title="Periods", show_edge=False, title_justify="left")
    for i, col in enumerate(
        ["period", "journeys", "closed", "conversion", "fitness", "median duration"]
    ):
        table.add_column(col, justify="left" if i == 0 else "right")
    for name in ("before", "after"):
        r = periods[name]
        table.add_row(
            name,
            f"{r['cases']:,}",
            f"{r['closed']:,}",
            _pct(r["conversion_rate"]),
            _pct(r["fitness"]),
            human(r["median_duration_s"]),
        )
    out.print(table)
    empty = [name for name in ("before", "after") if periods[name]["cases"] == 0]
    if empty:
        out.print(
            f"the {' and '.join(empty)} period has no journeys: nothing to compare "
            "(pick --split-at inside the log's time range)"
        )
        return
    _print_changes(result, top)
    hidden = d.hidden.filter(d.hidden["status"] != "persisting")
    if hidden.height:
        table = new_table(
            title="Hidden journeys that appeared or vanished",
            show_edge=False,
            title_justify="left",
        )
        for i, col in enumerate(["journey", "status", "share before", "share after"]):
            table.add_column(col, justify="left" if i < 2 else "right", overflow="fold")
        for r in hidden.head(top).iter_rows(named=True):
            table.add_row(
                r["label"].replace("→", " → "),
                r["status"],
                _pct(r["before_share"]),
                _pct(r["after_share"]),
            )
        out.print(table)
    else:
        out.print("no hidden journey appeared or vanished")


def _print_changes(result: PeriodDrift, top: int) -> None:
    d = result.drift
    rates = d.rates.filter("significant").sort("p_adjusted", "kind", "key")
    durations = d.durations.filter("significant").sort("p_adjusted", "kind", "key")
    if not rates.height and not durations.height:
        out.print(f"no significant change (adjusted p <= {d.alpha:g})")
        return
    table = new_table(
        title=f"Significant changes (p adjusted for {d.rates.height + d.durations.height} tests)",
        show_edge=False,
        title_justify="left",
    )
    for i, col in enumerate(["what", "before", "after", "change", "p adjusted"]):
        table.add_column(col, justify="left" if i == 0 else "right", overflow="fold")
    for r in rates.head(top).iter_rows(named=True):
        table.add_row(
            _what(r),
            _pct(r["before_rate"]),
            _pct(r["after_rate"]),
            f"{r['difference'] * 100:+.1f} pt",
            f"{r['p_adjusted']:.2g}",
        )
    for r in durations.head(top).iter_rows(named=True):
        change = r["difference_s"]
        table.add_row(
            _what(r),
            human(r["before_median_s"]),
            human(r["after_median_s"]),
            ("+" if change >= 0 else "-") + human(abs(change)),
            f"{r['p_adjusted']:.2g}",
        )
    out.print(table)


def _what(r: dict[str, Any]) -> str:
    kind = _KINDS.get(r["kind"], r["kind"])
    key = r["key"]
    return kind if key == "all" else f"{kind} {key.replace('→', ' → ')}"
