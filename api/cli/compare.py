"""`journeyminer compare`: real journeys against the designed map."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from collections.abc import Callable

    from rich.table import Table

    from ...miner.engine.dataset import Dataset
    from ...miner.ingest.lifecycle import LifecycleFold
    from ...miner.log import EventLog
    from ...miner.maps.designed import DesignedMap

from .common import (
    JsonFlag,
    Workers,
    app,
    check_cluster,
    cluster_executor,
    cluster_option,
    handle_errors,
    new_table,
    note_runs_here,
    out,
    print_json,
    progress_bar,
)
from .mine import human
from .source_options import NOT_GIVEN, SourceOptions, fold_line, source_options


@app.command()
@source_options
def compare(
    log_path: Annotated[Path, typer.Argument(metavar="LOG", help="An ingested log or a raw file.")],
    map_path: Annotated[
        Path, typer.Option("--map", help="The designed journey map (TOML/JSON/YAML).")
    ],
    segment: Annotated[
        str | None, typer.Option(help="Split every result by this case attribute.")
    ] = None,
    min_support: Annotated[
        float, typer.Option(help="Hidden journeys: at least this share (<1) or count.")
    ] = 0.01,
    source: SourceOptions = NOT_GIVEN,
    out_dir: Annotated[
        Path | None, typer.Option("--out", help="Write JSON, Parquet and the overlay SVG here.")
    ] = None,
    top: Annotated[int, typer.Option(help="Rows per table in the summary.")] = 5,
    workers: Workers = None,
    cluster: Annotated[
        str | None,
        cluster_option(
            "Compare a stored log's partitions on a Dask cluster: each worker reads its"
            " partitions from the folder (a path every worker sees); the journeys' rows come"
            " back to finish here. A raw file runs on this machine (said on stderr)."
        ),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Compare the journeys of a log with a designed map: fitness, leaks, hidden journeys.

    A stored log (a folder `ingest` wrote) is read a partition at a time, so memory grows with
    its journeys, not its events; `--workers` reads several at once."""
    with handle_errors():
        check_cluster(cluster)
        from ...miner.usecases import compare_journeys

        support: int | float = int(min_support) if min_support >= 1 else min_support
        with progress_bar(not as_json) as update:
            designed, log, folds, on_cluster = read_map_and_log(
                "compare", map_path, log_path, source, cluster, update, 4
            )
            update("comparing", 2, 4)
            with cluster_executor(cluster if on_cluster else None) as on:
                result = compare_journeys(
                    log, designed, segment=segment, min_support=support, workers=workers, run=on
                )
            written = {}
            if out_dir is not None:
                update("writing outputs", 3, 4)
                written = result.write(out_dir)
        if as_json:
            data = json.loads(written["json"].read_text()) if written else result.to_dict()
            if written:
                data["outputs"] = {k: str(v) for k, v in written.items()}
            if folds:
                data["lifecycle"] = folds[0].to_dict()
            print_json(data)
            return
        if folds:
            out.print(fold_line(folds[0]))
        _print_summary(result, top)
        if written:
            out.print(
                f"outputs written to [bold]{out_dir}[/]: {', '.join(p.name for p in written.values())}"
            )


def read_map_and_log(
    command: str,
    map_path: Path,
    log_path: Path,
    source: SourceOptions,
    cluster: str | None,
    update: Callable[[str, int, int], None],
    stages: int,
) -> tuple[DesignedMap, EventLog | Dataset, list[LifecycleFold], bool]:
    """What a command that compares a log with a map reads first: the map (the server's
    limits), then the log (a stored dataset or a raw file read with the source options).
    Returns them, the lifecycle folds reported while reading, and whether the analysis runs
    on `cluster` (a stored dataset does; a raw file runs here, said on stderr)."""
    from ...miner.engine.dataset import Dataset
    from ...miner.ingest.pipeline import open_stored
    from ...miner.kernel_cache import compile_ahead
    from ...miner.maps.designed import load_map
    from ..settings import Settings

    compile_ahead("compare")  # on an empty JIT cache: a second core compiles too
    update("reading the map", 0, stages)
    designed = load_map(map_path, **Settings().map_limits)
    update(f"reading {log_path.name}", 1, stages)
    folds: list[LifecycleFold] = []
    log = open_stored(log_path, source.to_mapping(), on_fold=folds.append)
    on_cluster = cluster is not None and isinstance(log, Dataset)
    if not on_cluster:
        note_runs_here(command, cluster, "a raw file is read whole (ingest it into a folder first)")
    return designed, log, folds, on_cluster


def _table(title: str, columns: list[str]) -> Table:
    table = new_table(title=title, show_edge=False, title_justify="left")
    for i, col in enumerate(columns):
        # fold: a long name wraps onto the next line instead of ending in "…" at 80 columns.
        table.add_column(col, justify="left" if i == 0 else "right", overflow="fold")
    return table


def _pct(value: Any) -> str:
    return "-" if value is None else f"{value:.1%}"


def _points(delta: float | None) -> str:
    # A difference of two rates, in percentage points: "+12.3 pt".
    return "-" if delta is None else f"{delta * 100:+.1f} pt"


def _print_summary(result: Any, top: int) -> None:
    cmp = result.comparison
    totals = cmp.totals
    unit = cmp.value_attribute if cmp.mean_value is not None else None
    out.print(
        f"[bold]{cmp.map_name}[/] ({cmp.map_version}): {totals.journeys:,} journeys, "
        f"{totals.closed:,} closed, {totals.in_progress:,} still in progress"
    )
    out.print(
        f"fitness: [bold]{cmp.fitness.cases:.1%}[/] of journeys, {cmp.fitness.events:.1%} of events; "
        f"conversion of closed journeys: [bold]{_pct(totals.conversion_rate)}[/] "
        f"({totals.converted:,} of {totals.closed:,})"
    )
    if cmp.leaks.height:
        out.print(_biggest_leak(cmp.leaks, unit))
    if cmp.by_segment is not None:
        out.print(_segments(cmp.by_segment))
    funnel = _table(
        "Funnel by phase", ["phase", "reached", "converted", "dropped", "in progress", "drop rate"]
    )
    for r in cmp.funnel.iter_rows(named=True):
        funnel.add_row(
            r["phase"],
            f"{r['reached']:,}",
            f"{r['converted']:,}",
            f"{r['dropped']:,}",
            f"{r['in_progress']:,}",
            _pct(r["drop_rate"]),
        )
    out.print(funnel)
    leaks = _table(
        f"Top {top} leak points",
        ["touchpoint (phase)", "journeys", "share of closed", f"value at risk ({unit or '-'})"],
    )
    for r in cmp.leaks.head(top).iter_rows(named=True):
        leaks.add_row(
            f"{r['touchpoint']} ({r['phase']})",
            f"{r['journeys']:,}",
            _pct(r["share_of_closed"]),
            f"{r['value_at_risk'] or 0:,.0f}",
        )
    out.print(leaks)
    hidden = _table(
        "Hidden journeys (Δ: against the rest of the closed journeys)",
        ["journey", "journeys", "share", "conversion", "Δ conversion", "median time"],
    )
    for r in result.hidden.frame.head(top).iter_rows(named=True):
        hidden.add_row(
            _breakable(r["label"]),
            f"{r['cases']:,}",
            _pct(r["share"]),
            _pct(r["conversion_rate"]),
            _points(r["delta_conversion"]),
            human(r["median_duration_s"]),
        )
    out.print(
        hidden if result.hidden.frame.height else "no hidden journeys above the support threshold"
    )
    frames = _table(
        "Time frames",
        ["frame", "applicable", "breached", "breach rate", "overdue, still open", "median"],
    )
    for r in cmp.time_frames.iter_rows(named=True):
        frames.add_row(
            r["frame"],
            f"{r['applicable']:,}",
            f"{r['breached']:,}",
            _pct(r["breach_rate"]),
            f"{r['overdue']:,}",
            human(r["median_s"]),
        )
    if cmp.time_frames.height:
        out.print(frames)
    ranked = result.ranked()
    prio = _table(
        f"Top {top} priorities: what costs conversions (impact in {unit or 'conversions'})",
        ["#", "what", "journeys", "impact"],
    )
    prio.columns[1].justify = "left"
    for r in ranked["priorities"].head(top).iter_rows(named=True):
        prio.add_row(str(r["rank"]), _what(r), f"{r['journeys']:,}", f"{r['impact']:,.0f}")
    out.print(prio if ranked["priorities"].height else "nothing found that costs conversions")
    better = _table(
        "Works better than designed (conversion with it vs without)",
        ["#", "what", "journeys", "conversion"],
    )
    better.columns[1].justify = "left"
    for r in ranked["better_than_designed"].head(top).iter_rows(named=True):
        better.add_row(
            str(r["rank"]),
            _what(r),
            f"{r['journeys']:,}",
            f"{_pct(r['conversion_rate'])} vs {_pct(r['baseline_rate'])}",
        )
    if ranked["better_than_designed"].height:
        out.print(better)


def _segments(split: Any) -> Table:
    """Per value of the split attribute: journeys, conversion, fitness, in progress, worst leak."""
    name = split.attribute
    table = _table(
        f"By {name} (no {name}: journeys without the attribute)",
        [name, "journeys", "conversion", "fitness", "in progress", "worst leak (journeys)"],
    )
    table.columns[-1].justify = "left"
    leaks = split.leaks
    for r in split.headline.iter_rows(named=True):
        value = r["segment"]
        mine = leaks.filter(
            leaks["segment"].is_null() if value is None else leaks["segment"] == value
        )
        worst = mine.sort("journeys", descending=True).row(0, named=True) if mine.height else None
        table.add_row(
            f"no {name}" if value is None else str(value),
            f"{r['journeys']:,}",
            _pct(r["conversion_rate"]),
            _pct(r["fitness_cases"]),
            f"{r['in_progress']:,}",
            f"{worst['touchpoint']} ({worst['journeys']:,})" if worst else "-",
        )
    return table


def _biggest_leak(leaks: Any, unit: str | None) -> str:
    # Volume and value can name different leaks; say both, so the priorities (ranked by value)
    # do not seem to contradict the headline.
    volume = leaks.row(0, named=True)  # leaks come most journeys first
    text = f"biggest leak by journeys: {volume['touchpoint']} ({volume['journeys']:,})"
    if unit is None:
        return text
    value = leaks.sort("value_at_risk", descending=True, nulls_last=True).row(0, named=True)
    return f"{text}; by value at risk: {value['touchpoint']} ({value['value_at_risk']:,.0f} {unit})"


def _breakable(label: str) -> str:
    # Spaces around the arrows let a long path wrap between its steps, not inside a name.
    return label.replace("->", "→").replace("→", " → ")


def _what(r: dict[str, Any]) -> str:
    # A priority's aspects, and the hidden journey made of the same journeys.
    hidden = f" = hidden journey {r['hidden_journey']}" if r.get("hidden_journey") else ""
    return f"{r['title']}{hidden}"
