"""Train and evaluate every reference agent on every environment; write docs/agents.md's table.

    python benchmarks/agents_table.py                        # every agent x env x seed, 2 worker processes
    python benchmarks/agents_table.py --agents ppo --envs RecSimBench/Boredom-v0 --seeds 3
    python benchmarks/agents_table.py --render               # only rewrite docs/agents.md from the results
    python benchmarks/agents_table.py --agents ppo --envs RecSimBench/Boredom-v0 --rerun   # again, after a config change
    python benchmarks/agents_table.py --from-results runs/v1/results --agents sb3-ppo   # v1 results, train the rest

Each job trains one agent on one environment with one training seed (train users, the budget of
:data:`BUDGETS`), then evaluates it deterministically on test users 0..EPISODES-1 with evaluation seed
:data:`EVAL_SEED` (:func:`recsim_bench.agents.evaluate_agent`). Agents that do not learn (random, oracle,
linucb, thompson) run once. Results go to ``benchmarks/results/agents.json`` after every job (written
atomically; jobs finished with the current budget are skipped on a rerun, so an interrupted run resumes). The table reports, per
agent and environment, the mean over training seeds of the mean test return, with a 95% Student-t
interval over the seeds (over the episodes for agents that run once), the training wall time and
steps/s. Each worker process uses one torch thread.

``--from-results DIR`` takes, instead of training them again, the jobs that validated protocol-v1 result
files of ``recsim-bench run`` already hold: v1 evaluates on the same test users with the same evaluation
seed and trains each agent on the same budget and seeds, so the returns are the same. On ColdStart-v0 a v1
return is the mean over a user's 5 sessions (a trial), where a job of this script scores single sessions.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import re
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from recsim_bench.files import write_text_atomic

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "agents.json"
DOC = ROOT / "docs" / "agents.md"
EPISODES = 500
EVAL_SEED = 10_000
UNTRAINED = ("random", "oracle", "linucb", "thompson")
#: Training budget in environment steps (user-steps) per agent.
BUDGETS = {"ridge-greedy": 50_000, "slateq": 300_000, "sb3-ppo": 500_000, "ppo": 2_000_000}
AGENT_ORDER = ("random", "oracle", "ridge-greedy", "linucb", "thompson", "slateq", "sb3-ppo", "ppo")


def run_job(job: tuple[str, str, int]) -> dict[str, Any]:
    """Train (when the agent learns) and evaluate one (agent, env, seed); runs in a worker process."""
    import torch

    torch.set_num_threads(1)
    import recsim_bench  # noqa: F401  (registers the environments)
    from baselines import make_agent
    from recsim_bench.agents import evaluate_agent

    name, env_id, seed = job
    agent = make_agent(name, env_id)
    summary: dict[str, Any] = {"steps": 0, "wall_time": 0.0, "steps_per_s": None}
    if name not in UNTRAINED:
        summary = agent.train(env_id, BUDGETS[name], seed, device="cpu")
    start = time.perf_counter()
    returns = evaluate_agent(agent, env_id, EPISODES, EVAL_SEED, split="test")
    return {
        "agent": name,
        "env_id": env_id,
        "seed": seed,
        "budget": BUDGETS.get(name, 0),
        "train_steps": int(summary["steps"]),
        "train_seconds": float(summary["wall_time"]),
        "steps_per_s": summary["steps_per_s"],
        "eval_seconds": time.perf_counter() - start,
        "returns": returns.tolist(),
    }


def _key(agent: str, env_id: str, seed: int) -> str:
    return f"{agent}|{env_id}|{seed}"


def jobs_from_results(directory: str, seeds: int) -> dict[str, Any]:
    """The jobs (keyed as :func:`_key`) held by the valid v1 result files under ``directory``, seeds below ``seeds``."""
    from recsim_bench.scoring.results import read_result, result_files, validate_result

    jobs: dict[str, Any] = {}
    for path in result_files([directory]):
        result = read_result(path)
        if validate_result(result, "v1"):
            print(f"skipped {path}: not a valid v1 result", flush=True)
            continue
        name, seed = result["agent"]["name"], result["seeds"]["train"]
        if name not in BUDGETS and name not in UNTRAINED or (seed or 0) >= seeds:
            continue
        steps, train_seconds = result["train_steps"] or 0, result["wall_time"]["train"] or 0.0
        jobs[_key(name, result["env_id"], seed or 0)] = {
            "agent": name,
            "env_id": result["env_id"],
            "seed": seed or 0,
            "budget": BUDGETS.get(name, 0),
            "train_steps": steps,
            "train_seconds": train_seconds,
            "steps_per_s": steps / train_seconds if steps and train_seconds else None,
            "eval_seconds": result["wall_time"]["evaluate"],
            "returns": result["returns"],
            "source": str(path),
        }
    return jobs


def _t_interval(values: np.ndarray) -> tuple[float, float, float]:
    from recsim_bench.references import mean_ci

    if len(values) < 2:
        return float(values.mean()), float("nan"), float("nan")
    return mean_ci(values)


def render(results: dict[str, Any]) -> str:
    """The Markdown table of the results, one row per agent, one column block per environment."""
    import recsim_bench

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
            if agent in UNTRAINED:
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
    import recsim_bench

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", default=",".join(AGENT_ORDER), help="comma-separated agent names")
    parser.add_argument("--envs", default="all", help="comma-separated ids, or all")
    parser.add_argument("--seeds", type=int, default=3, help="training seeds per learning agent")
    parser.add_argument("--workers", type=int, default=2, help="worker processes")
    parser.add_argument("--render", action="store_true", help="only rewrite docs/agents.md from the stored results")
    parser.add_argument("--rerun", action="store_true", help="run the chosen jobs again even if stored (after a config change)")
    parser.add_argument("--from-results", metavar="DIR", help="take the jobs that v1 result files of recsim-bench run hold")
    args = parser.parse_args(argv)

    results: dict[str, Any] = json.loads(RESULTS.read_text(encoding="utf-8")) if RESULTS.exists() else {}
    if args.from_results:
        taken = jobs_from_results(args.from_results, args.seeds)
        results.update(taken)
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomic(RESULTS, json.dumps(results, indent=1) + "\n")
        print(f"took {len(taken)} jobs from the results in {args.from_results}", flush=True)
    if not args.render:
        envs = list(recsim_bench.SUITE) if args.envs == "all" else args.envs.split(",")
        jobs = [
            (agent, env_id, seed)
            for agent in args.agents.split(",")
            for env_id in envs
            for seed in (range(1) if agent in UNTRAINED else range(args.seeds))
            if args.rerun
            or results.get(_key(agent, env_id, seed), {}).get("budget", 0) != BUDGETS.get(agent, 0)
            or _key(agent, env_id, seed) not in results
        ]
        print(f"{len(jobs)} jobs ({len(results)} already done) on {args.workers} workers", flush=True)
        start = time.perf_counter()
        with multiprocessing.get_context("spawn").Pool(args.workers, maxtasksperchild=1) as pool:
            for done, result in enumerate(pool.imap_unordered(run_job, jobs), 1):
                results[_key(result["agent"], result["env_id"], result["seed"])] = result
                RESULTS.parent.mkdir(parents=True, exist_ok=True)
                write_text_atomic(RESULTS, json.dumps(results, indent=1) + "\n")
                print(
                    f"[{done}/{len(jobs)} {time.perf_counter() - start:7.0f} s] {result['agent']:>8} {result['env_id']:<36} "
                    f"seed {result['seed']}: {np.mean(result['returns']):8.2f}",
                    flush=True,
                )
    write_doc(results)
    print(f"wrote {DOC.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
