"""Leaderboards: validated result files in, ranked Markdown and CSV tables and figures out.

``write_leaderboard(inputs, out_dir)`` (``recsim-bench leaderboard PATH... --out DIR``) reads every
result file (a directory means its ``*.json`` files, recursively), validates each one against the
protocol (:func:`~recsim_bench.scoring.results.result_errors`) and refuses the whole input, writing
nothing, if any file is invalid, duplicated, or under another protocol version. Then it writes into
``out_dir``, each file atomically:

- ``LEADERBOARD.md``: the overall ranking, one ranking per environment, what each column means;
- ``leaderboard.csv``: one row per (agent, environment) and one ``overall`` row per ranked agent;
- ``figures/*.png`` (with ``figures=True``, needs matplotlib: ``pip install 'recsim-bench[plots]'``):
  normalised score per environment, aggregate IQM and mean, performance profiles, and the adaptation
  curve (return per session) of each meta-RL environment.

The statistics, per (agent, environment): a *run* is one training seed; its score is its mean
return over the protocol's test users. The mean return is the mean over runs with a 95% Student-t
interval over runs (with 5 seeds a bootstrap percentile interval is too narrow); an agent with a
single run (one that does not train) gets the Student-t interval over the test users of that run
instead. The normalised score is :meth:`Protocol.normalise` of the mean return.

Overall, per agent with a complete set of results (every environment of the protocol, each with all
of its training seeds, or one untrained run everywhere): ``scores[run, env]`` holds the normalised
score of each run, and the IQM, the mean and the optimality gap follow :mod:`.metrics`, with 95%
stratified bootstrap percentile intervals (2,000 replicates, ``random_state=0`` for every interval,
so an agent's numbers do not depend on which other agents are on the board). The probability of
improvement compares the agent with the best *reference* agent other than itself (highest IQM, ties
by name); the reference agents are every ranked agent unless ``references`` names some.

Markdown and CSV hold no timestamps: the same input gives byte-identical files.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import os
import shlex
from pathlib import Path
from typing import Any, Iterable

import numpy as np
from numpy.typing import NDArray

import recsim_bench
from recsim_bench.files import write_bytes_atomic, write_text_atomic
from recsim_bench.scoring.metrics import (
    Interval,
    iqm,
    mean_ci,
    mean_score,
    optimality_gap,
    performance_profile,
    probability_of_improvement,
    stratified_bootstrap_ci,
)
from recsim_bench.scoring.protocol import QUICK_SUFFIX, Protocol, is_published, load_protocol
from recsim_bench.scoring.results import read_result, read_verification, result_files, train_steps_of, result_errors

#: Bootstrap replicates and seed of every overall interval.
REPS = 2000
RANDOM_STATE = 0

PLOTS_HINT = "pip install 'recsim-bench[plots]' (or matplotlib), or leave the figures out (figures=False, --no-figures)"

_CSV_COLUMNS = (
    "kind", "env_id", "agent", "runs", "seeds", "ci_over",
    "mean_return", "mean_return_low", "mean_return_high",
    "normalised", "normalised_low", "normalised_high",
    "first_session", "last_session",
    "iqm", "iqm_low", "iqm_high",
    "mean_normalised", "mean_normalised_low", "mean_normalised_high",
    "optimality_gap", "p_improvement", "p_improvement_low", "p_improvement_high", "p_improvement_over",
    "train_steps", "verified_runs", "verification",
)


class InvalidResults(ValueError):
    """Result files that cannot go on a leaderboard; ``failures`` holds one line per problem."""

    def __init__(self, failures: list[str], files: int) -> None:
        self.failures = failures
        lines = "\n".join(f"  FAIL {failure}" for failure in failures)
        super().__init__(f"{len(failures)} problem(s) in {files} result file(s); nothing was written:\n{lines}")


@dataclasses.dataclass(frozen=True)
class EnvEntry:
    """One agent on one environment."""

    agent: str
    env_id: str
    seeds: tuple[int | None, ...]  # training seeds, sorted; (None,) for an agent that does not train
    ci_over: str  # "seeds", or "users" when there is a single run
    mean: Interval  # mean return over runs and its 95% Student-t interval (None bounds: no interval)
    normalised: Interval  # Protocol.normalise of the mean return, and of the interval's units
    run_scores: NDArray[np.float64]  # (runs,) normalised score of each run
    sessions: Interval | None  # meta-RL: mean return per session, arrays (sessions,)
    train_steps: tuple[int | None | str, ...]  # per run: steps trained on, None (does not learn), "unknown" (schema 1)
    verified: tuple[str | None, ...]  # per run: the verification record's outcome, None without one


@dataclasses.dataclass(frozen=True)
class OverallEntry:
    """One agent over every environment of the protocol."""

    agent: str
    scores: NDArray[np.float64]  # scores[run, env]: normalised, envs in protocol order
    iqm: Interval
    mean: Interval
    optimality_gap: float
    improvement: Interval | None  # P(this agent > versus), None without another reference agent
    versus: str | None


# ----------------------------------------------------------------------------- reading
def _label(result: dict[str, Any]) -> str:
    name, version = result["agent"]["name"], result["agent"]["version"]
    return name if version is None else f"{name} {version}"


def _seed_key(seed: int | None) -> int:
    return -1 if seed is None else seed


Runs = dict[int | None, dict[str, Any]]  # training seed -> result


def load_results(
    inputs: Iterable[str | os.PathLike[str]], protocol: Protocol | str | None = None, verified: str | os.PathLike[str] | None = None
) -> tuple[Protocol, dict[tuple[str, str], Runs], dict[tuple[str, str, int | None], str | None]]:
    """``(protocol, {(agent, env_id): {train_seed: result}}, {(agent, env_id, train_seed): verification})``
    of every result file in ``inputs``; a verification is the outcome of the file's record in the maintainers'
    directory ``verified`` (default: ``verified`` beside the ``results`` directory that holds the file;
    :func:`~recsim_bench.scoring.results.read_verification`), ``None`` without a valid one. A record among
    the results themselves does not count.

    ``protocol`` defaults to the version the files name (all must name the same one). Any unreadable,
    invalid or duplicated file, or an agent mixing trained and untrained results on an environment,
    raises :class:`InvalidResults` listing every problem.
    """
    files = result_files([str(path) for path in inputs])
    if not files:
        raise InvalidResults(["no result files given"], 0)
    failures: list[str] = []
    loaded: dict[str, Any] = {}
    for path in files:
        try:
            loaded[str(path)] = read_result(path)
        except ValueError as error:
            failures.append(f"{path}: {error}")
    if protocol is None:
        versions = sorted({str(r.get("protocol")) for r in loaded.values() if isinstance(r, dict)})
        if len(versions) > 1:
            failures.append(f"the files name several protocols ({', '.join(versions)}): make one leaderboard per protocol")
            raise InvalidResults(failures, len(files))
        protocol = versions[0] if versions else None
    groups: dict[tuple[str, str], dict[int | None, dict[str, Any]]] = {}
    origin: dict[tuple[str, str, int | None], str] = {}
    for path, result in loaded.items():
        reasons = result_errors(result, protocol)
        if reasons:
            failures.append(f"{path}: " + "; ".join(reasons))
            continue
        agent, env_id, seed = _label(result), result["env_id"], result["seeds"]["train"]
        if (agent, env_id, seed) in origin:
            failures.append(f"{path}: {agent} on {env_id}, training seed {seed}, is already in {origin[agent, env_id, seed]}")
            continue
        origin[agent, env_id, seed] = path
        groups.setdefault((agent, env_id), {})[seed] = result
    for (agent, env_id), runs in sorted(groups.items()):
        if None in runs and len(runs) > 1:
            failures.append(f"{agent} on {env_id}: results with and without a training seed")
    if failures:
        raise InvalidResults(failures, len(files))
    outcomes = {key: read_verification(path, groups[key[:2]][key[2]], verified) for key, path in origin.items()}
    return load_protocol(protocol), groups, outcomes


# ----------------------------------------------------------------------------- statistics
def _t_interval(values: NDArray[np.float64]) -> Interval:
    """Mean and 95% Student-t interval of ``values``; ``None`` bounds for a single value."""
    if values.size < 2:
        return Interval(float(values.mean()), None, None)
    return Interval(*mean_ci(values))


def env_entry(
    protocol: Protocol, agent: str, env_id: str, runs: Runs, verified: dict[int | None, str | None] | None = None
) -> EnvEntry:
    """The statistics of ``agent`` on ``env_id`` from its results, one per training seed (``verified``: their
    verification outcomes by seed, none by default)."""
    seeds = tuple(sorted(runs, key=_seed_key))
    returns = [np.asarray(runs[seed]["returns"], dtype=np.float64) for seed in seeds]
    run_means = np.array([r.mean() for r in returns])
    units = run_means if len(seeds) > 1 else returns[0]  # what the interval is over
    mean = _t_interval(units)
    bounds = _t_interval(np.array([protocol.normalise(env_id, u) for u in units]))
    normalised = Interval(protocol.normalise(env_id, mean.point), bounds.low, bounds.high)
    sessions = None
    if protocol.env(env_id).sessions is not None:
        per_run = [np.asarray(runs[seed]["session_returns"], dtype=np.float64) for seed in seeds]
        rows = np.array([s.mean(axis=0) for s in per_run]) if len(seeds) > 1 else per_run[0]
        columns = [_t_interval(rows[:, j]) for j in range(rows.shape[1])]
        sessions = Interval(*(np.array([c[i] for c in columns], dtype=float) for i in range(3)))
    return EnvEntry(
        agent=agent,
        env_id=env_id,
        seeds=seeds,
        ci_over="seeds" if len(seeds) > 1 else "users",
        mean=mean,
        normalised=normalised,
        run_scores=np.array([protocol.normalise(env_id, m) for m in run_means]),
        sessions=sessions,
        train_steps=tuple(train_steps_of(runs[seed]) for seed in seeds),
        verified=tuple((verified or {}).get(seed) for seed in seeds),
    )


def _unranked_reason(protocol: Protocol, entries: dict[str, EnvEntry]) -> str | None:
    """Why an agent with these per-env entries gets no overall row; ``None`` when it gets one."""
    missing = [env_id.split("/")[-1] for env_id in protocol.env_ids if env_id not in entries]
    if missing:
        return f"no results on {', '.join(missing)}"
    incomplete = [
        env_id.split("/")[-1]
        for env_id, entry in entries.items()
        if entry.seeds != (None,) and set(entry.seeds) != set(protocol.env(env_id).train_seeds)
    ]
    if incomplete:
        return f"not every training seed on {', '.join(incomplete)}"
    if len({entry.seeds == (None,) for entry in entries.values()}) > 1:
        return "trained on some environments, untrained on others"
    if len({len(entry.seeds) for entry in entries.values()}) > 1:
        return "a different number of runs per environment"
    return None


def overall_entries(
    protocol: Protocol, entries: dict[str, dict[str, EnvEntry]], references: Iterable[str] | None = None
) -> tuple[list[OverallEntry], dict[str, str]]:
    """Ranked overall entries (best IQM first) and ``{agent: why it is not ranked}`` for the others."""
    ranked, unranked = [], {}
    for agent, per_env in sorted(entries.items()):
        reason = _unranked_reason(protocol, per_env)
        if reason is not None:
            unranked[agent] = reason
            continue
        scores = np.stack([per_env[env_id].run_scores for env_id in protocol.env_ids], axis=1)
        ranked.append((agent, scores))
    pool = {agent for agent, _ in ranked} if references is None else set(references)
    intervals = {
        agent: (
            stratified_bootstrap_ci(iqm, scores, random_state=RANDOM_STATE, reps=REPS),
            stratified_bootstrap_ci(mean_score, scores, random_state=RANDOM_STATE, reps=REPS),
        )
        for agent, scores in ranked
    }
    order = sorted(ranked, key=lambda item: (-intervals[item[0]][0].point, item[0]))
    result = []
    for agent, scores in order:
        versus = next((other for other, _ in order if other != agent and other in pool), None)
        improvement = None
        if versus is not None:
            other = dict(order)[versus]
            improvement = stratified_bootstrap_ci(probability_of_improvement, scores, other, random_state=RANDOM_STATE, reps=REPS)
        iqm_interval, mean_interval = intervals[agent]
        result.append(OverallEntry(agent, scores, iqm_interval, mean_interval, optimality_gap(scores), improvement, versus))
    return result, unranked


def _ranked_env(entries: Iterable[EnvEntry]) -> list[EnvEntry]:
    return sorted(entries, key=lambda entry: (-entry.mean.point, entry.agent))


# ----------------------------------------------------------------------------- Markdown and CSV
def _num(value: float | None, digits: int) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def _ci(interval: Interval, digits: int) -> str:
    if interval.low is None:
        return f"{_num(interval.point, digits)} [n/a]"
    return f"{_num(interval.point, digits)} [{_num(interval.low, digits)}, {_num(interval.high, digits)}]"


def _runs(entry: EnvEntry) -> str:
    return "1†" if len(entry.seeds) == 1 else str(len(entry.seeds))


def _budget(steps: Iterable[int | None | str]) -> int | str | None:
    """The training budget used over runs: the most steps a run trained on; ``"unknown"`` if a file does not
    say (schema 1); ``None`` for an agent that does not learn."""
    values = list(steps)
    if "unknown" in values:
        return "unknown"
    numbers = [value for value in values if isinstance(value, int)]
    return max(numbers) if numbers else None


def _steps_label(steps: Iterable[int | None | str]) -> str:
    values = list(steps)
    budget = _budget(values)
    if not isinstance(budget, int):
        return budget or "–"
    least = min(value for value in values if isinstance(value, int))
    return f"{budget:,}" if least == budget else f"{least:,}–{budget:,}"


def _verified_runs(outcomes: Iterable[str | None]) -> int:
    return sum(outcome in ("exact", "within_ci") for outcome in outcomes)


def _verified_label(outcomes: Iterable[str | None]) -> str:
    """``yes`` (every run re-evaluated exactly), ``≈`` (some only within the 95% CI), ``k of n``, ``no``, or
    ``rerun differs`` when a maintainer's re-evaluation did not give the file's numbers."""
    values = list(outcomes)
    good = _verified_runs(values)
    if "mismatch" in values:
        return "rerun differs"
    if good < len(values):
        return "no" if good == 0 else f"{good} of {len(values)}"
    return "yes" if all(value == "exact" for value in values) else "≈"


def _table(header: list[str], align: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(align) + "|"]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in rows])


def _session_columns(protocol: Protocol, env_id: str) -> list[int]:
    sessions = protocol.env(env_id).sessions
    return [] if sessions is None else sorted({0, sessions - 1})


def render_tables(
    protocol: Protocol, entries: dict[str, dict[str, EnvEntry]], overall: list[OverallEntry], unranked: dict[str, str]
) -> str:
    """The overall and per-environment rankings as Markdown."""
    parts = ["## Overall", ""]
    if overall:
        per_agent = {o.agent: list(entries[o.agent].values()) for o in overall}
        rows = [
            [
                str(rank),
                o.agent,
                str(o.scores.shape[0]) + ("†" if o.scores.shape[0] == 1 else ""),
                _ci(o.iqm, 3),
                _ci(o.mean, 3),
                _num(o.optimality_gap, 3),
                "–" if o.improvement is None else _ci(o.improvement, 2),
                o.versus or "–",
                _steps_label(s for e in per_agent[o.agent] for s in e.train_steps),
                _verified_label(v for e in per_agent[o.agent] for v in e.verified),
            ]
            for rank, o in enumerate(overall, start=1)
        ]
        header = ["rank", "agent", "runs", "IQM [95% CI]", "mean [95% CI]", "optimality gap", "P(improvement) [95% CI]", "over", "train steps", "verified"]
        parts.append(_table(header, ["---:", "---", "---:", "---", "---", "---:", "---", "---", "---:", "---"], rows))
    else:
        parts.append("No agent has a complete set of results yet.")
    if unranked:
        parts += ["", "Not ranked overall (listed per environment only): " + "; ".join(f"{a} ({why})" for a, why in unranked.items()) + "."]
    parts += ["", "## Per environment"]
    for env_id in protocol.env_ids:
        ranked = _ranked_env(per_env[env_id] for per_env in entries.values() if env_id in per_env)
        parts += ["", f"### {env_id.split('/')[-1]}", ""]
        if not ranked:
            parts.append("No results yet.")
            continue
        columns = _session_columns(protocol, env_id)
        header = ["rank", "agent", "runs", "mean return [95% CI]", "normalised [95% CI]"] + [f"session {j + 1}" for j in columns]
        rows = [
            [str(rank), e.agent, _runs(e), _ci(e.mean, 2), _ci(e.normalised, 3)]
            + [_num(float(e.sessions.point[j]), 2) for j in columns]
            + [_steps_label(e.train_steps), _verified_label(e.verified)]
            for rank, e in enumerate(ranked, start=1)
        ]
        align = ["---:", "---", "---:", "---", "---"] + ["---:"] * len(columns) + ["---:", "---"]
        parts.append(_table(header + ["train steps", "verified"], align, rows))
    return "\n".join(parts) + "\n"


def _explanation(protocol: Protocol, references: Iterable[str] | None) -> str:
    pool = "every ranked agent" if references is None else ", ".join(sorted(references))
    return f"""## Columns

Rows are ranked by IQM overall and by mean return per environment (ties by agent name).

- **runs**: training seeds with a result. † a single run (an agent that does not train): its intervals
  per environment are over the test users of that run instead of over training seeds, and its overall
  intervals have zero width (they measure the variation between training seeds only).
- **mean return**: a run's score is its mean return over the protocol's test users (meta-RL: each user's
  mean session return); the mean over runs, with a 95% Student-t interval over runs.
- **normalised**: `Protocol.normalise` of the mean return: 0 is the random reference, 1 the protocol's
  upper reference (see docs/protocol.md); the interval is the Student-t interval of the runs' normalised scores.
- **session k** (meta-RL environments): mean return of the k-th session of a trial with the same user.
- **IQM**, **mean**: interquartile mean and mean of the normalised scores `scores[run, env]` over all
  runs and environments, with 95% percentile intervals of a stratified bootstrap ({REPS} replicates
  resampling runs within each environment, random_state {RANDOM_STATE}).
- **optimality gap**: mean of `max(1 - score, 0)`: the shortfall from the upper reference (lower is better).
- **P(improvement)**: probability that a run of the agent beats a run of the agent in **over** on an
  environment (ties count 1/2), averaged over environments, with its bootstrap interval. **over** is the
  reference agent with the highest IQM other than the agent itself; reference agents: {pool}.
- **train steps**: the environment steps the runs trained on (the budget used; a range when runs differ,
  the most over all runs overall; at most the protocol's `train_steps`, which validation enforces). – an
  agent that does not learn; unknown: a result file of schema 1, which did not record it.
- **verified**: whether a maintainer re-evaluated the submitted policy (`recsim-bench validate --rerun`,
  which writes a verification record into the maintainers' directory `verified/`, beside `results/`; a record
  among the results does not count). yes: every run gave the file's numbers exactly; ≈: some only within the
  file's 95% interval (e.g. a torch agent on other hardware); k of n: only some runs; no: the numbers are
  claimed, not re-evaluated; rerun differs: a re-evaluation did not give them.
- Only agents with results on every environment of protocol {protocol.version}, each with all of its training
  seeds (or one untrained run on each), are ranked overall.
"""


def _figure_links(names: list[str]) -> str:
    lines = ["## Figures", ""]
    for name in names:
        lines += [f"![{name[:-4].replace('_', ' ')}](figures/{name})", ""]
    return "\n".join(lines)


#: Text cells a spreadsheet would run as a formula; :func:`_value` puts a ``'`` in front of them.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _value(value: Any) -> str:
    """A CSV cell: numbers as written, ``None`` empty, text that begins like a formula escaped with ``'``."""
    if value is None:
        return ""
    if isinstance(value, (float, np.floating)):
        return repr(float(value))
    if isinstance(value, (int, np.integer)):
        return str(value)
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def render_csv(protocol: Protocol, entries: dict[str, dict[str, EnvEntry]], overall: list[OverallEntry]) -> str:
    """``leaderboard.csv``: one ``env`` row per (agent, environment), then one ``overall`` row per ranked agent."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=_CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for env_id in protocol.env_ids:
        for e in _ranked_env(per_env[env_id] for per_env in entries.values() if env_id in per_env):
            row = {
                "kind": "env", "env_id": env_id, "agent": e.agent, "runs": len(e.seeds),
                "seeds": " ".join("null" if s is None else str(s) for s in e.seeds), "ci_over": e.ci_over,
                "mean_return": e.mean.point, "mean_return_low": e.mean.low, "mean_return_high": e.mean.high,
                "normalised": e.normalised.point, "normalised_low": e.normalised.low, "normalised_high": e.normalised.high,
            }
            if e.sessions is not None:
                row |= {"first_session": e.sessions.point[0], "last_session": e.sessions.point[-1]}
            row |= {"train_steps": _budget(e.train_steps), "verified_runs": _verified_runs(e.verified), "verification": _verified_label(e.verified)}
            writer.writerow({key: _value(value) for key, value in row.items()})
    for o in overall:
        row = {
            "kind": "overall", "agent": o.agent, "runs": o.scores.shape[0], "ci_over": "bootstrap",
            "iqm": o.iqm.point, "iqm_low": o.iqm.low, "iqm_high": o.iqm.high,
            "mean_normalised": o.mean.point, "mean_normalised_low": o.mean.low, "mean_normalised_high": o.mean.high,
            "optimality_gap": o.optimality_gap, "p_improvement_over": o.versus,
        }
        if o.improvement is not None:
            row |= {"p_improvement": o.improvement.point, "p_improvement_low": o.improvement.low, "p_improvement_high": o.improvement.high}
        runs = entries[o.agent].values()
        steps, outcomes = [s for e in runs for s in e.train_steps], [v for e in runs for v in e.verified]
        row |= {"train_steps": _budget(steps), "verified_runs": _verified_runs(outcomes), "verification": _verified_label(outcomes)}
        writer.writerow({key: _value(value) for key, value in row.items()})
    return buffer.getvalue()


# ----------------------------------------------------------------------------- figures
def _matplotlib() -> tuple[Any, Any]:
    """``(Figure, FigureCanvasAgg)``, without pyplot (no global backend change); a clear error without matplotlib."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise ValueError(f"leaderboard figures need matplotlib: {PLOTS_HINT}") from None
    return Figure, FigureCanvasAgg


def _figure(width: float, height: float, nrows: int = 1, ncols: int = 1) -> tuple[Any, Any]:
    Figure, FigureCanvasAgg = _matplotlib()
    figure = Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots(nrows, ncols, squeeze=False)
    return figure, axes.ravel()


def _png(figure: Any) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()


def _errorbars(ax: Any, labels: list[str], intervals: list[Interval], colours: list[Any], xlabel: str) -> None:
    """One point with its interval per row, best first from the top."""
    y = np.arange(len(labels))
    for i, (interval, colour) in enumerate(zip(intervals, colours)):
        low = interval.point if interval.low is None else interval.low
        high = interval.point if interval.high is None else interval.high
        xerr = [[max(interval.point - low, 0.0)], [max(high - interval.point, 0.0)]]  # a percentile interval may miss the point
        ax.errorbar(interval.point, y[i], xerr=xerr, fmt="o", color=colour, capsize=3)
    ax.set_yticks(y, labels)
    ax.set_ylim(len(labels) - 0.5, -0.5)
    ax.set_xlabel(xlabel)
    ax.grid(axis="x", alpha=0.3)


def render_figures(
    protocol: Protocol, entries: dict[str, dict[str, EnvEntry]], overall: list[OverallEntry]
) -> dict[str, bytes]:
    """PNG bytes by file name: normalised scores per env, aggregates, performance profiles, adaptation curves."""
    palette = [f"C{i % 10}" for i in range(len(entries))]
    colour = dict(zip(sorted(entries), palette))
    figures: dict[str, bytes] = {}

    env_ids = [env_id for env_id in protocol.env_ids if any(env_id in per_env for per_env in entries.values())]
    ncols = min(3, len(env_ids))
    nrows = -(-len(env_ids) // ncols)
    figure, axes = _figure(4.2 * ncols, 0.5 + 0.45 * max(2, len(entries)) * nrows, nrows, ncols)
    for ax, env_id in zip(axes, env_ids):
        ranked = _ranked_env(per_env[env_id] for per_env in entries.values() if env_id in per_env)
        _errorbars(ax, [e.agent for e in ranked], [e.normalised for e in ranked], [colour[e.agent] for e in ranked], "normalised score")
        for x in (0.0, 1.0):
            ax.axvline(x, color="grey", linestyle="--", linewidth=0.8)
        ax.set_title(env_id.split("/")[-1])
    for ax in axes[len(env_ids):]:
        ax.set_visible(False)
    figures["normalised_scores.png"] = _png(figure)

    if overall:
        figure, axes = _figure(9.0, 0.8 + 0.45 * max(2, len(overall)), 1, 2)
        labels, colours = [o.agent for o in overall], [colour[o.agent] for o in overall]
        _errorbars(axes[0], labels, [o.iqm for o in overall], colours, "IQM of normalised scores")
        _errorbars(axes[1], labels, [o.mean for o in overall], colours, "mean normalised score")
        axes[1].set_yticklabels([])
        figures["aggregate.png"] = _png(figure)

        everything = np.concatenate([o.scores.ravel() for o in overall])
        taus = np.linspace(min(0.0, everything.min()), max(1.0, everything.max()), 201)
        figure, (ax,) = _figure(7.0, 4.0)
        for o in overall:
            band = performance_profile(o.scores, taus, ci=True, random_state=RANDOM_STATE, reps=REPS)
            ax.plot(taus, band.point, color=colour[o.agent], label=o.agent)
            ax.fill_between(taus, band.low, band.high, color=colour[o.agent], alpha=0.2, linewidth=0)
        ax.set_xlabel("normalised score τ")
        ax.set_ylabel("fraction of runs x envs with score > τ")
        ax.set_ylim(0.0, 1.02)
        ax.grid(alpha=0.3)
        ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5))
        figures["performance_profile.png"] = _png(figure)

    for env_id in env_ids:
        entry = protocol.env(env_id)
        if entry.sessions is None:
            continue
        sessions = np.arange(1, entry.sessions + 1)
        figure, (ax,) = _figure(7.0, 4.0)
        for e in _ranked_env(per_env[env_id] for per_env in entries.values() if env_id in per_env):
            ax.plot(sessions, e.sessions.point, marker="o", color=colour[e.agent], label=e.agent)
            if not np.isnan(e.sessions.low).any():
                ax.fill_between(sessions, e.sessions.low, e.sessions.high, color=colour[e.agent], alpha=0.2, linewidth=0)
        ax.set_xticks(sessions)
        ax.set_xlabel("session of the trial")
        ax.set_ylabel("mean return")
        ax.set_title(f"{env_id.split('/')[-1]}: adaptation")
        ax.grid(alpha=0.3)
        ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5))
        figures[f"adaptation_{env_id.split('/')[-1]}.png"] = _png(figure)
    return figures


# ----------------------------------------------------------------------------- writing
def _command(
    inputs: list[str], out_dir: str, protocol: Protocol | str | None, figures: bool, references: list[str] | None, verified: str | None
) -> str:
    """The ``recsim-bench leaderboard`` command that writes the same leaderboard, or the Python call for a modified protocol."""
    if isinstance(protocol, Protocol) and not is_published(protocol):
        return f"recsim_bench.scoring.leaderboard.write_leaderboard({inputs!r}, {out_dir!r}, protocol=<modified {protocol.version}>)"
    words = ["recsim-bench", "leaderboard", *inputs, "--out", out_dir]
    if protocol is not None:
        words += ["--protocol", protocol.version if isinstance(protocol, Protocol) else protocol]
    for name in references or []:
        words += ["--reference", name]
    if verified is not None:
        words += ["--verified", verified]
    return shlex.join(words + ([] if figures else ["--no-figures"]))


def _unpublished(protocol: Protocol) -> str:
    """How the header names a protocol that is not a published one."""
    quick = protocol.version.endswith(QUICK_SUFFIX) and protocol.to_json() == load_protocol(protocol.version).to_json()
    return "a quick check: NOT comparable with published results" if quick else "modified: not the published protocol"


def write_leaderboard(
    inputs: Iterable[str | os.PathLike[str]],
    out_dir: str | os.PathLike[str],
    protocol: Protocol | str | None = None,
    figures: bool = True,
    references: Iterable[str] | None = None,
    verified: str | os.PathLike[str] | None = None,
) -> str:
    """Validate every result file of ``inputs``, then write the leaderboard into ``out_dir``; returns its tables (Markdown).

    ``inputs`` are result files or directories of them. ``protocol`` is a version or a
    :class:`Protocol` (e.g. a restricted one); by default the version the files name. ``references``
    are the agents P(improvement) compares with (default: every ranked agent). ``verified`` is the maintainers'
    directory of verification records (default: ``verified`` beside the ``results`` directory; :func:`load_results`).
    Nothing is written when a file is invalid (:class:`InvalidResults`) or, with ``figures``, when matplotlib is missing.
    """
    inputs = [str(path) for path in inputs]
    references = None if references is None else sorted(set(references))
    if figures:
        _matplotlib()
    scored_under, groups, outcomes_of = load_results(inputs, protocol, verified)
    entries: dict[str, dict[str, EnvEntry]] = {}
    for (agent, env_id), runs in sorted(groups.items()):
        outcomes = {seed: outcomes_of[agent, env_id, seed] for seed in runs}
        entries.setdefault(agent, {})[env_id] = env_entry(scored_under, agent, env_id, runs, outcomes)
    unknown = sorted(set(references or []) - set(entries))
    if unknown:
        raise ValueError(f"reference agent(s) {unknown} have no results here; agents: {sorted(entries)}")
    overall, unranked = overall_entries(scored_under, entries, references)
    tables = render_tables(scored_under, entries, overall, unranked)
    pngs = render_figures(scored_under, entries, overall) if figures else {}

    files = sum(len(runs) for runs in groups.values())
    published = "" if is_published(scored_under) else f" ({_unpublished(scored_under)})"
    header = (
        "# recsim-bench leaderboard\n\n"
        f"Protocol {scored_under.version}{published}: {len(scored_under.env_ids)} environments, {files} result files, "
        f"recsim-bench {recsim_bench.__version__}. Generated by `{_command(inputs, str(out_dir), protocol, figures, references, None if verified is None else str(verified))}`; "
        "do not edit by hand: add result files and run it again.\n\n"
    )
    markdown = header + tables + "\n" + _explanation(scored_under, references) + ("\n" + _figure_links(list(pngs)) if pngs else "")

    out = Path(out_dir)
    (out / "figures" if pngs else out).mkdir(parents=True, exist_ok=True)
    for name, data in sorted(pngs.items()):
        write_bytes_atomic(out / "figures" / name, data)
    write_text_atomic(out / "leaderboard.csv", render_csv(scored_under, entries, overall))
    write_text_atomic(out / "LEADERBOARD.md", markdown.rstrip("\n") + "\n")
    return tables


__all__ = [
    "EnvEntry",
    "InvalidResults",
    "OverallEntry",
    "env_entry",
    "load_results",
    "overall_entries",
    "render_csv",
    "render_figures",
    "render_tables",
    "write_leaderboard",
]
