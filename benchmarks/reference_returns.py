"""Measure the reference returns of every registered environment and write them to the package.

    python benchmarks/reference_returns.py                  # writes recsim_bench/envs/reference_returns.json
    python benchmarks/reference_returns.py --extra          # also: LongTermSatisfaction, kale vs the myopic oracle
    python benchmarks/reference_returns.py --extra --docs   # also rewrites the numbers in the env cards and docstrings

Each reference of an environment (``random``, ``greedy``, ``oracle`` and its long-run
policies, :func:`recsim_bench.references.reference_names`) is evaluated over 1,000 episodes
of fresh train users with seed 0 (:func:`recsim_bench.agents.evaluate_episodes` with
``fresh_users=True``: row ``i`` is the single env reset with seed ``i``); the mean return and its 95%
Student-t interval go into the JSON file (written atomically) and a Markdown
table is printed. ``--extra`` prints a second table. ``--docs`` rewrites the
blocks between ``<!-- reference-returns:start/end -->`` (and ``kale:start/end``)
markers in ``docs/envs/<Name>.md`` and the ``## Reference returns`` section of
each environment class docstring, so that the published numbers are the measured ones.
"""

from __future__ import annotations

import argparse
import importlib
import json
import re
import sys
import time
from pathlib import Path
from typing import Any


import recsim_bench
from recsim_bench.files import write_text_atomic
from recsim_bench.agents import evaluate_episodes
from recsim_bench.references import REFERENCE_RETURNS_PATH, reference_agent, reference_names
from recsim_bench.scoring.metrics import mean_ci

COMMAND = "python benchmarks/reference_returns.py"
ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs" / "envs"
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


def card_table(env_results: dict[str, Any]) -> str:
    """The card's table of one environment's reference returns."""
    rows = [f"| {p} | {r['mean']:.2f} | [{r['low']:.2f}, {r['high']:.2f}] |" for p, r in env_results.items()]
    return "\n".join(["| policy | mean return | 95% CI |", "|---|---|---|", *rows])


def docstring_section(env_id: str, env_results: dict[str, Any]) -> str:
    """The ``## Reference returns`` section of an environment class docstring (indented, no trailing blank line)."""
    name = env_id.split("/")[-1]
    numbers = ", ".join(f"{p} {cell(r)}" for p, r in env_results.items())
    return (
        "    ## Reference returns\n"
        f"    Mean return and 95% CI over {EPISODES:,} episodes (seed {SEED}), from ``{COMMAND}``:\n"
        f"    {numbers}.\n"
        "    Greedy (population's mean user) and oracle (true hidden state) both maximise the immediate\n"
        f"    expected reward; see ``docs/envs/{name}.md``.\n"
    )


def replace_between(text: str, start: str, end: str, new: str, where: str) -> str:
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.DOTALL)
    if len(pattern.findall(text)) != 1:
        raise ValueError(f"{where}: expected exactly one {start} ... {end} block")
    return pattern.sub(lambda _: f"{start}\n{new}\n{end}", text)


def write_docs(results: dict[str, Any], kale_table: str | None) -> list[Path]:
    """Put the measured numbers into the env cards and the class docstrings; return the files written."""
    written = []
    for env_id, (module, *_) in recsim_bench.SUITE.items():
        card = DOCS / f"{env_id.split('/')[-1]}.md"
        text = replace_between(
            card.read_text(encoding="utf-8"),
            "<!-- reference-returns:start -->",
            "<!-- reference-returns:end -->",
            card_table(results[env_id]),
            str(card),
        )
        if kale_table is not None and env_id == LTS_ID:
            text = replace_between(text, "<!-- kale:start -->", "<!-- kale:end -->", kale_table, str(card))
        write_text_atomic(card, text)
        written.append(card)

        source = Path(importlib.import_module(module).__file__)
        code = source.read_text(encoding="utf-8")
        section = re.compile(r"    ## Reference returns\n.*?(?=\n    ## )", re.DOTALL)
        if len(section.findall(code)) != 1:
            raise ValueError(f"{source}: expected exactly one '## Reference returns' docstring section")
        write_text_atomic(source, section.sub(lambda _: docstring_section(env_id, results[env_id]), code))
        written.append(source)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--extra", action="store_true", help="also compare kale and the oracle on LongTermSatisfaction")
    parser.add_argument("--docs", action="store_true", help="also write the numbers into the env cards and docstrings")
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

    kale_table = None
    if args.extra:
        start = time.perf_counter()
        lines = ["| user_model | oracle (myopic) | kale (least clickbait) |", "|---|---|---|"]
        recsim_label = f"RecSim's: `user_model={json.dumps(RECSIM_SENSITIVITY['user_model'])}`"
        for label, kwargs in (("default (sensitivity 0.2)", {}), (recsim_label, RECSIM_SENSITIVITY)):
            oracle, kale = measure(LTS_ID, "oracle", **kwargs), measure(LTS_ID, "kale", **kwargs)
            lines.append(f"| {label} | {cell(oracle)} | {cell(kale)} |")
        kale_table = "\n".join(lines)
        print(f"\n{LTS_ID}: always-least-clickbait (kale) vs the myopic oracle, {EPISODES:,} episodes, seed {SEED}:\n")
        print(kale_table)
        print(f"\n({time.perf_counter() - start:.1f} s; `{COMMAND} --extra`)")
    if args.docs:
        for path in write_docs(results, kale_table):
            print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
