"""ColdStart-v0's adaptation curve: mean return per session of a trial of test users, per reference policy.

    python benchmarks/cold_start_sessions.py                   # 1,000 test users, 5 sessions, seed 0
    python benchmarks/cold_start_sessions.py --users 200 --sessions 10
    python benchmarks/cold_start_sessions.py --env-kwargs '{"num_candidates": 10}'

A trial is one test user (a task from ``sample_tasks(users, split="test", seed=seed)``) served for
``sessions`` consecutive episodes; the users are the rows of one vector env (see
:func:`recsim_bench.envs.cold_start.session_returns`). It prints a Markdown table: for each policy,
the mean return of session 1, 2, ... with its 95% Student-t interval over the users.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import gymnasium as gym

import recsim_bench  # noqa: F401  (registers the suite)
from recsim_bench.envs.cold_start import LinearUCB, popularity_policy, session_returns
from recsim_bench.references import greedy_policy, mean_ci, oracle_policy, random_policy

ENV_ID = "RecSimBench/ColdStart-v0"


def policies() -> dict[str, object]:
    """The references, each a fresh object (the adaptive ones keep per-row memory)."""
    return {
        "random": random_policy,
        "greedy (mean train user)": greedy_policy,
        "popularity (train users)": popularity_policy,
        "linucb, forgets each session": LinearUCB(across_sessions=False),
        "linucb, remembers the user (adaptive)": LinearUCB(across_sessions=True),
        "oracle (true preference)": oracle_policy,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=1000, help="test users (trials), one vector-env row each")
    parser.add_argument("--sessions", type=int, default=5, help="episodes per trial")
    parser.add_argument("--seed", type=int, default=0, help="seed of the tasks, the env and the policies")
    parser.add_argument("--env-kwargs", type=json.loads, default={}, help="gym.make_vec kwargs as JSON, e.g. '{\"num_candidates\": 10}'")
    args = parser.parse_args(argv)

    start = time.perf_counter()
    env = gym.make_vec(ENV_ID, num_envs=args.users, split="test", **args.env_kwargs)
    tasks = env.unwrapped.sample_tasks(args.users, split="test", seed=args.seed)
    header = "| policy | " + " | ".join(f"session {k + 1}" for k in range(args.sessions)) + " |"
    lines = [header, "|---|" + "---|" * args.sessions]
    for name, policy in policies().items():
        returns = session_returns(env, policy, tasks, args.sessions, seed=args.seed)
        cells = []
        for k in range(args.sessions):
            mean, low, high = mean_ci(returns[:, k])
            cells.append(f"{mean:.2f} [{low:.2f}, {high:.2f}]")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    env.close()
    command = "python benchmarks/cold_start_sessions.py" + (" " + " ".join(argv) if argv else "")
    print(f"{ENV_ID}: mean return per session over {args.users:,} test users, 95% CI, seed {args.seed}\n")
    print("\n".join(lines))
    print(f"\n({time.perf_counter() - start:.1f} s; `{command}`)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
