"""Measure the reference returns of every registered environment and write them to the package.

    python benchmarks/reference_returns.py                  # writes recsim_bench/envs/reference_returns.json
    python benchmarks/reference_returns.py --extra          # also: LongTermSatisfaction, kale vs the myopic oracle
    python benchmarks/reference_returns.py --docs           # also rewrites the env cards (docs/envs/) from the new numbers

Each reference of an environment (``random``, ``greedy``, ``oracle`` and its long-run
policies, :func:`recsim_bench.references.reference_names`) is evaluated over 1,000 episodes
of fresh train users with seed 0 (:func:`recsim_bench.agents.evaluate_episodes` with
``fresh_users=True``: row ``i`` is the single env reset with seed ``i``); the mean return and its 95%
Student-t interval go into the JSON file (written atomically) and a Markdown
table is printed. ``--extra`` prints a second table (LongTermSatisfaction's
``kale`` under RecSim's sensitivity, quoted in that env's docstring). ``--docs``
rewrites every card with :func:`recsim_bench.envs.cards.write_cards`, the cards'
one writer (``python -m recsim_bench.envs.cards --write``), so that the published
numbers are the measured ones; the docstrings hold none.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any


import recsim_bench
from recsim_bench.agents import evaluate_episodes
from recsim_bench.envs.cards import REFERENCE_RETURNS_PATH, write_cards
from recsim_bench.files import write_text_atomic
from recsim_bench.references import reference_agent, reference_names
from recsim_bench.scoring.metrics import mean_ci

COMMAND = "python benchmarks/reference_returns.py"
ROOT = Path(__file__).resolve().parent.parent
EPISODES = 1000
SEED = 0
LTS_ID = "RecSimBench/LongTermSatisfaction-v0"
RECSIM_SENSITIVITY = {"user_model": {"name": "long_term_satisfaction", "sensitivity": 0.01}}


#: Returns of the first episodes kept in the file, so that a test can tell when the dynamics changed under it.
FIRST_RETURNS = 8


def measure(env_id: str, reference: str, **env_kwargs: Any) -> dict[str, Any]:
    agent = reference_agent(env_id, reference)
    returns = evaluate_episodes(agent, env_id, EPISODES, SEED, split="train", fresh_users=True, **env_kwargs).returns
    mean, low, high = mean_ci(returns)
    return {
        "mean": mean,
        "low": low,
        "high": high,
        "episodes": EPISODES,
        "seed": SEED,
        "first_returns": returns[:FIRST_RETURNS].tolist(),
    }


def cell(result: dict[str, Any]) -> str:
    return f"{result['mean']:.2f} [{result['low']:.2f}, {result['high']:.2f}]"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--extra", action="store_true", help="also compare kale and the oracle on LongTermSatisfaction")
    parser.add_argument("--docs", action="store_true", help="also rewrite the env cards (docs/envs/) from the new numbers")
    parser.add_argument("--output", type=Path, default=REFERENCE_RETURNS_PATH, help="where to write the JSON")
    args = parser.parse_args(argv)
    if args.docs and args.output.resolve() != REFERENCE_RETURNS_PATH:
        parser.error("--docs publishes the package's numbers: it cannot be combined with --output")

    start = time.perf_counter()
    results: dict[str, Any] = {}
    for env_id in recsim_bench.SUITE:
        results[env_id] = {name: measure(env_id, name) for name in reference_names(env_id)}
    results["command"] = COMMAND
    write_text_atomic(args.output, json.dumps(results, indent=2) + "\n")
    elapsed = time.perf_counter() - start

    print(f"Mean return and 95% CI over {EPISODES:,} episodes, seed {SEED} (`{COMMAND}`, {elapsed:.1f} s):\n")
    print("| Environment | policy | mean return [95% CI] |")
    print("|---|---|---|")
    for env_id in recsim_bench.SUITE:
        for policy, result in results[env_id].items():
            print(f"| {env_id} | {policy} | {cell(result)} |")
    print(f"\nwrote {args.output}")

    if args.extra:
        start = time.perf_counter()
        lines = ["| user_model | oracle (myopic) | kale (least clickbait) |", "|---|---|---|"]
        recsim_label = f"RecSim's: `user_model={json.dumps(RECSIM_SENSITIVITY['user_model'])}`"
        for label, kwargs in (("default (sensitivity 0.2)", {}), (recsim_label, RECSIM_SENSITIVITY)):
            oracle, kale = measure(LTS_ID, "oracle", **kwargs), measure(LTS_ID, "kale", **kwargs)
            lines.append(f"| {label} | {cell(oracle)} | {cell(kale)} |")
        print(f"\n{LTS_ID}: always-least-clickbait (kale) vs the myopic oracle, {EPISODES:,} episodes, seed {SEED}:\n")
        print("\n".join(lines))
        print(f"\n({time.perf_counter() - start:.1f} s; `{COMMAND} --extra`)")
    if args.docs:
        for path in write_cards():
            print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
