"""Sweeps: solve a scenario over a grid of what-if values, one results row per grid point.

Keys are dotted scenario paths (``budget``, ``channels.call.capacity``,
``contact_policy.max_contacts``, ``offers.handset_contract.max_targets``, ``min_roi``...).
Every grid point is validated before the first solve, so a bad value stops the sweep with
nothing written. Points run in worker processes (spawned, so no solver or progress-bar
thread is ever forked) and the table is written atomically as Parquet and CSV.
"""

from __future__ import annotations

import itertools
import math
import multiprocessing
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from optimizer.atomic import neutralised, write_folder
from optimizer.errors import InputError
from optimizer.problem import Problem
from optimizer.result import SolveResult
from optimizer.solving import solve
from optimizer.verify import verify_plan

from .inputs import ScenarioInputs, check_key

__all__ = ["ProgressBar", "grid_points", "outcome_row", "parse_grid", "results_table", "run_point", "run_tasks", "sweep", "write_table"]

#: Columns of every results row, before the grid keys and the per-limit columns.
OUTCOME_COLUMNS = (
    "status", "objective", "bound", "gap", "spend", "expected_return", "roi", "contacts",
    "customers_contacted", "expected_acceptances", "verified", "runtime", "message",
)


def _parse_value(text: str) -> Any:
    from optimizer.yaml_reading import parse_yaml

    return parse_yaml(text, "--grid")


def parse_grid(specs: Iterable[str]) -> dict[str, list[Any]]:
    """``["budget=1000,2000", "channels.call.capacity=100:400:4"]`` -> a grid mapping.

    ``a:b:n`` is ``n`` evenly spaced values from ``a`` to ``b`` (integers when both ends
    are integers and the steps fall on integers); ``null`` means "no limit".
    """
    grid: dict[str, list[Any]] = {}
    for spec in specs:
        if "=" not in spec:
            raise InputError(f"a grid axis is KEY=V1,V2,... or KEY=START:STOP:N (got {spec!r})", key="--grid")
        key, _, values = spec.partition("=")
        key = key.strip()
        if key in grid:
            raise InputError(f"the key {key!r} is given twice", key="--grid")
        if values.count(":") == 2 and "," not in values:
            a, b, n = (_parse_value(v) for v in values.split(":"))
            if not all(isinstance(v, (int, float)) for v in (a, b)) or not isinstance(n, int) or n < 1:
                raise InputError(f"{key}: START:STOP:N needs two numbers and a count >= 1 (got {values!r})", key="--grid")
            points = np.linspace(a, b, n)
            if isinstance(a, int) and isinstance(b, int) and np.allclose(points, np.round(points)):
                grid[key] = [int(round(p)) for p in points]
            else:
                grid[key] = [float(p) for p in points]
        else:
            grid[key] = [_parse_value(v) for v in values.split(",") if v.strip() != ""]
    return grid


def grid_points(inputs: ScenarioInputs, grid: Mapping[str, Sequence[Any]]) -> list[dict[str, Any]]:
    """Every combination of the grid, each validated against the scenario; errors name key and value."""
    if not grid:
        raise InputError("the grid is empty: give at least one KEY=VALUES axis", key="grid")
    for key, values in grid.items():
        check_key(inputs.data, key)
        if len(values) == 0:
            raise InputError("the grid axis has no values", key=key)
    keys = list(grid)
    points = [dict(zip(keys, combo)) for combo in itertools.product(*(grid[k] for k in keys))]
    for point in points:
        try:
            inputs.scenario(point)
        except InputError as exc:
            shown = ", ".join(f"{k}={v!r}" for k, v in point.items())
            raise InputError(f"grid point {shown}: {exc.rule}", key=exc.key) from None
    return points


def outcome_row(problem: Problem, result: SolveResult, runtime: float) -> dict[str, Any]:
    """The headline numbers of one solve, plus usage and shadow price of every limit."""
    row: dict[str, Any] = {
        "status": result.status.value,
        "objective": result.objective_value,
        "bound": result.bound,
        "gap": result.gap,
        "runtime": runtime,
        "message": result.message,
    }
    if result.has_plan:
        plan = result.plan
        spend = float(plan["expected_cost"].sum())
        ret = float(plan["expected_value"].sum())
        verification = verify_plan(problem, plan)
        row |= {
            "spend": spend,
            "expected_return": ret,
            "roi": (ret - spend) / spend if spend > 0 else math.nan,
            "contacts": len(plan),
            "customers_contacted": int(plan["customer_id"].nunique()),
            "expected_acceptances": float(plan["p_accept"].sum()),
            "verified": verification.ok,
        }
        if not verification.ok:
            row["message"] = "; ".join(verification.violations)
    else:
        row |= {"spend": math.nan, "expected_return": math.nan, "roi": math.nan, "contacts": 0,
                "customers_contacted": 0, "expected_acceptances": math.nan, "verified": None}
        if result.diagnosis is not None:
            row["message"] = result.diagnosis.summary()
    for lim in result.limits:
        row[f"usage:{lim.name}"] = lim.usage
        row[f"shadow:{lim.name}"] = lim.shadow_price
    return row


def run_point(inputs: ScenarioInputs, point: Mapping[str, Any], *, keep_plan: bool = False) -> dict[str, Any]:
    """Solve one grid point; the row has the grid values, then :data:`OUTCOME_COLUMNS` and limits."""
    start = time.perf_counter()
    problem = inputs.problem(point)
    result = solve(problem)
    row = {**point, **outcome_row(problem, result, time.perf_counter() - start)}
    if keep_plan:
        row["_plan"] = result.plan_table
    return row


_WORKER_INPUTS: ScenarioInputs | None = None


def _init_worker(inputs: ScenarioInputs) -> None:
    global _WORKER_INPUTS
    _WORKER_INPUTS = inputs


def _task(function: Callable[[ScenarioInputs, Any], Any], argument: Any) -> Any:
    assert _WORKER_INPUTS is not None
    return function(_WORKER_INPUTS, argument)


def run_tasks(
    inputs: ScenarioInputs,
    tasks: Sequence[tuple[Callable[[ScenarioInputs, Any], Any], Any]],
    *,
    workers: int = 1,
    bar: ProgressBar | None = None,
) -> list[Any]:
    """``function(inputs, argument)`` for each task, in ``workers`` spawned processes; results in task order.

    Each worker gets ``inputs`` once. Functions must be module-level (they are sent by name);
    tasks start in the order given, so put the longest first. ``bar`` advances per task.
    """
    results: list[Any] = [None] * len(tasks)
    if workers == 1 or len(tasks) <= 1:
        for i, (function, argument) in enumerate(tasks):
            results[i] = function(inputs, argument)
            if bar is not None:
                bar.advance()
        return results
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(min(workers, len(tasks)), mp_context=context, initializer=_init_worker, initargs=(inputs,)) as pool:
        futures = {pool.submit(_task, function, argument): i for i, (function, argument) in enumerate(tasks)}
        for future in as_completed(futures):
            results[futures[future]] = future.result()
            if bar is not None:
                bar.advance()
    return results


def results_table(rows: list[dict[str, Any]], keys: list[str]) -> pd.DataFrame:
    """Rows of :func:`run_point` as one table: the grid ``keys``, the outcome columns, then usage and shadow prices."""
    limits = list(dict.fromkeys(c for r in rows for c in r if c.startswith(("usage:", "shadow:"))))
    usage = [c for c in limits if c.startswith("usage:")]
    shadow = [c for c in limits if c.startswith("shadow:")]
    return pd.DataFrame(rows).reindex(columns=keys + list(OUTCOME_COLUMNS) + usage + shadow)


def sweep(
    inputs: ScenarioInputs,
    grid: Mapping[str, Sequence[Any]],
    *,
    workers: int = 1,
    progress: bool = False,
) -> pd.DataFrame:
    """Solve every grid point (in ``workers`` processes) and return one row per point, in grid order."""
    points = grid_points(inputs, grid)
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise InputError(f"workers(={workers!r}) must be an integer >= 1", key="workers")
    bar = _progress(progress, len(points), inputs.name)
    try:
        rows = run_tasks(inputs, [(run_point, point) for point in points], workers=workers, bar=bar)
    finally:
        bar.stop()
    return results_table(rows, list(grid))


class ProgressBar:
    """A rich progress bar, or nothing when disabled (``advance`` and ``stop`` are no-ops)."""

    def __init__(self, enabled: bool, total: int, label: str) -> None:
        self._progress = None
        if enabled:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self._progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
            self._task = self._progress.add_task(label, total=total)
            self._progress.start()

    def advance(self) -> None:
        if self._progress is not None:
            self._progress.advance(self._task)

    def stop(self) -> None:
        if self._progress is not None:
            self._progress.stop()


def _progress(enabled: bool, total: int, name: str) -> ProgressBar:
    from rich.markup import escape

    from optimizer.report import printable

    return ProgressBar(enabled, total, f"sweep {escape(printable(name))}")


def write_table(table: pd.DataFrame, out: Path, stem: str = "sweep", extra: list[tuple[str, Any]] | None = None) -> list[Path]:
    """Write ``out/<stem>.parquet``, ``out/<stem>.csv`` and any ``extra`` (file name, writer) together.

    Through :func:`optimizer.atomic.write_folder`; the CSV, for spreadsheets, has its text
    cells neutralised against formulas, the Parquet keeps them raw.
    """
    return write_folder(
        Path(out),
        [
            (f"{stem}.parquet", lambda tmp: table.to_parquet(tmp, index=False)),
            (f"{stem}.csv", lambda tmp: neutralised(table).to_csv(tmp, index=False, float_format="%.10g")),
            *(extra or []),
        ],
    )
