"""ColdStart-v0's adaptation curve: mean return per session of a trial of test users, per reference.

    python benchmarks/cold_start_sessions.py                   # 1,000 test users, 5 sessions, seed 0
    python benchmarks/cold_start_sessions.py --users 200 --sessions 10
    python benchmarks/cold_start_sessions.py --env-kwargs '{"num_candidates": 10}'

A trial is one test user served for ``sessions`` consecutive episodes: user ``u`` is test user ``u``
in a row seeded ``seed + u``, as the protocol serves them (:func:`recsim_bench.agents.evaluate_sessions`).
Beside the references it runs the one LinUCB of ``baselines/`` twice: forgetting the user at each
session, and keeping its posterior across the sessions of a trial (``keep_across_episodes``). It
prints a Markdown table: for each policy, the mean return of session 1, 2, ... with its 95%
Student-t interval over the users.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

import recsim_bench  # noqa: F401  (registers the suite)
from recsim_bench.agents import evaluate_sessions, make_agent
from recsim_bench.references import reference_agent
from recsim_bench.scoring.metrics import mean_ci

ENV_ID = "RecSimBench/ColdStart-v0"


def agents(env_kwargs: dict[str, Any]) -> dict[str, Any]:
    """The policies compared, each a fresh agent (the adaptive ones keep per-row memory)."""
    linucb = {keep: make_agent("linucb", ENV_ID, {"keep_across_episodes": keep}, env_kwargs=env_kwargs) for keep in (False, True)}
    return {
        "random": reference_agent(ENV_ID, "random"),
        "greedy (mean train user)": reference_agent(ENV_ID, "greedy"),
        "popularity (train users)": reference_agent(ENV_ID, "popularity"),
        "linucb, forgets each session": linucb[False],
        "linucb, remembers the user (adaptive)": linucb[True],
        "oracle (true preference)": reference_agent(ENV_ID, "oracle"),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=1000, help="test users (trials), one vector-env row each")
    parser.add_argument("--sessions", type=int, default=5, help="episodes per trial")
    parser.add_argument("--seed", type=int, default=0, help="user u's row is seeded seed + u")
    parser.add_argument("--env-kwargs", type=json.loads, default={}, help="gym.make_vec kwargs as JSON, e.g. '{\"num_candidates\": 10}'")
    args = parser.parse_args(argv)

    start = time.perf_counter()
    header = "| policy | " + " | ".join(f"session {k + 1}" for k in range(args.sessions)) + " |"
    lines = [header, "|---|" + "---|" * args.sessions]
    for name, agent in agents(args.env_kwargs).items():
        returns = evaluate_sessions(agent, ENV_ID, args.users, args.sessions, args.seed, split="test", **args.env_kwargs)
        cells = []
        for k in range(args.sessions):
            mean, low, high = mean_ci(returns[:, k])
            cells.append(f"{mean:.2f} [{low:.2f}, {high:.2f}]")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    command = "python benchmarks/cold_start_sessions.py" + (" " + " ".join(argv) if argv else "")
    print(f"{ENV_ID}: mean return per session over {args.users:,} test users, 95% CI, seed {args.seed}\n")
    print("\n".join(lines))
    print(f"\n({time.perf_counter() - start:.1f} s; `{command}`)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
