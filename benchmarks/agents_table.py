"""docs/agents.md's table: every reference agent on every environment, from v1 result files.

    recsim-bench run --agents random,oracle,ridge-greedy,linucb,thompson,slateq,ppo --envs all --seeds 3 --out runs/v1
    python benchmarks/agents_table.py --from-results runs/v1/results     # take their jobs, rewrite the table
    python benchmarks/agents_table.py --render                           # only rewrite docs/agents.md

The jobs are those of ``recsim-bench run`` (the one training and evaluation path,
:func:`recsim_bench.scoring.runner.run_job`): each agent that learns trains on train users with the
protocol's budget (or its config's own ``train_steps``) and seeds, then every agent is evaluated
deterministically on v1's test users with v1's evaluation seed. ``--from-results DIR`` (repeatable) takes
the jobs that validated v1 result files under ``DIR`` hold, seeds below ``--seeds``, into
``benchmarks/results/agents.json`` (written atomically); the table reports, per agent and environment, the
mean over training seeds of the mean test return, with a 95% Student-t interval over the seeds (over the
users for agents that do not learn), the training wall time and steps/s. On ColdStart-v0 a v1 return is a
user's mean over 5 sessions (a trial). The SB3 PPO rows were measured by this script's earlier own jobs
(500,000 steps, single sessions on ColdStart), before it took its jobs from ``recsim-bench run``.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

import numpy as np

from recsim_bench.files import write_text_atomic

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "agents.json"
DOC = ROOT / "docs" / "agents.md"
AGENT_ORDER = ("random", "oracle", "ridge-greedy", "linucb", "thompson", "slateq", "sb3-ppo", "ppo")


def _key(agent: str, env_id: str, seed: int) -> str:
    return f"{agent}|{env_id}|{seed}"


def jobs_from_results(directory: str, seeds: int) -> dict[str, Any]:
    """The jobs (keyed as :func:`_key`) held by the valid v1 result files under ``directory``, seeds below ``seeds``."""
    from recsim_bench.scoring.results import read_result, result_files, result_errors

    jobs: dict[str, Any] = {}
    for path in result_files([directory]):
        result = read_result(path)
        if result_errors(result, "v1"):
            print(f"skipped {path}: not a valid v1 result", flush=True)
            continue
        name, seed = result["agent"]["name"], result["seeds"]["train"]
        if name not in AGENT_ORDER or (seed or 0) >= seeds:
            continue
        steps, train_seconds = result["train_steps"] or 0, result["wall_time"]["train"] or 0.0
        jobs[_key(name, result["env_id"], seed or 0)] = {
            "agent": name,
            "env_id": result["env_id"],
            "seed": seed or 0,
            "budget": steps,
            "train_steps": steps,
            "train_seconds": train_seconds,
            "steps_per_s": steps / train_seconds if steps and train_seconds else None,
            "eval_seconds": result["wall_time"]["evaluate"],
            "returns": result["returns"],
            "source": str(path),
        }
    return jobs


def _t_interval(values: np.ndarray) -> tuple[float, float, float]:
    from recsim_bench.scoring.metrics import mean_ci

    if len(values) < 2:
        return float(values.mean()), float("nan"), float("nan")
    return mean_ci(values)


def render(results: dict[str, Any]) -> str:
    """The Markdown table of the results, one row per agent, one column block per environment."""
    import recsim_bench
    from recsim_bench.scoring.runner import trains

    lines = [
        "| environment | agent | training steps | seeds | mean test return [95% CI] | training wall time | steps/s |",
        "|---|---|---:|---:|---|---:|---:|",
    ]
    for env_id in recsim_bench.SUITE:
        for agent in AGENT_ORDER:
            runs = [r for r in results.values() if r["agent"] == agent and r["env_id"] == env_id]
            if not runs:
                continue
            runs.sort(key=lambda r: r["seed"])
            if not trains(agent):
                mean, low, high = _t_interval(np.asarray(runs[0]["returns"]))
                seeds, interval = "-", "episodes"
            else:
                mean, low, high = _t_interval(np.array([np.mean(r["returns"]) for r in runs]))
                seeds, interval = str(len(runs)), "seeds"
            wall = np.mean([r["train_seconds"] for r in runs])
            rates = [r["steps_per_s"] for r in runs if r["steps_per_s"]]
            rate = f"{np.mean(rates):,.0f}" if rates else "-"
            steps = f"{runs[0]['train_steps']:,}" if runs[0]["train_steps"] else "-"
            ci = f"[{low:.2f}, {high:.2f}] ({interval})" if np.isfinite(low) else "(one seed)"
            wall_text = f"{wall:,.0f} s" if runs[0]["train_steps"] else "-"
            lines.append(f"| {env_id.split('/')[-1]} | {agent} | {steps} | {seeds} | {mean:.2f} {ci} | {wall_text} | {rate} |")
    return "\n".join(lines)


def write_doc(results: dict[str, Any]) -> None:
    text = DOC.read_text(encoding="utf-8")
    pattern = re.compile(r"<!-- agents-table:start -->.*?<!-- agents-table:end -->", re.DOTALL)
    if len(pattern.findall(text)) != 1:
        raise ValueError(f"{DOC}: expected one <!-- agents-table:start --> ... <!-- agents-table:end --> block")
    table = render(results)
    write_text_atomic(DOC, pattern.sub(lambda _: f"<!-- agents-table:start -->\n{table}\n<!-- agents-table:end -->", text))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--from-results", metavar="DIR", action="append", default=[], help="take the jobs of v1 result files under DIR")
    parser.add_argument("--seeds", type=int, default=3, help="training seeds per learning agent taken from the results")
    parser.add_argument("--render", action="store_true", help="only rewrite docs/agents.md from the stored jobs")
    args = parser.parse_args(argv)
    if not args.render and not args.from_results:
        parser.error("give --from-results DIR (result files of recsim-bench run) or --render")

    results: dict[str, Any] = json.loads(RESULTS.read_text(encoding="utf-8")) if RESULTS.exists() else {}
    for directory in args.from_results:
        taken = jobs_from_results(directory, args.seeds)
        results.update(taken)
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomic(RESULTS, json.dumps(results, indent=1) + "\n")
        print(f"took {len(taken)} jobs from the results in {directory}", flush=True)
    write_doc(results)
    print(f"wrote {DOC.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
