"""The ``recsim-bench`` command (also ``python -m recsim_bench``).

    recsim-bench list                         registered ids, one line each
    recsim-bench describe RecSimBench/InterestEvolution-v0
    recsim-bench demo [--episodes 5] [--seed 0]

``describe`` and other commands taking an id also accept it without the
``RecSimBench/`` namespace. An unknown id exits with status 2.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any, Sequence

import gymnasium as gym

import recsim_bench
from recsim_bench.envs import NAMESPACE, SUITE
from recsim_bench.references import POLICIES, evaluate, load_reference_returns

DEMO_POLICIES = ("random", "greedy")


class UnknownEnvironment(ValueError):
    """An id that is not in :data:`recsim_bench.SUITE`."""


def resolve_id(name: str) -> str:
    """The registered id for ``name``, with or without the ``RecSimBench/`` namespace."""
    if name in SUITE:
        return name
    qualified = f"{NAMESPACE}/{name}"
    if qualified in SUITE:
        return qualified
    ids = "\n  ".join(SUITE)
    raise UnknownEnvironment(f"unknown environment id {name!r}; registered ids:\n  {ids}")


def _format_space(space: gym.Space) -> str:
    if isinstance(space, gym.spaces.Dict):
        return "\n".join(
            f"  {key}: Box{tuple(sub.shape)} {sub.dtype}, low {_bound(sub.low)}, high {_bound(sub.high)}"
            for key, sub in space.spaces.items()
        )
    return f"  {space}"


def _bound(values: Any) -> str:
    """A Box bound compactly: one number when every entry is the same, else the range of entries."""
    lo, hi = float(values.min()), float(values.max())
    return f"{lo:g}" if lo == hi else f"{lo:g}..{hi:g}"


def cmd_list(args: argparse.Namespace) -> int:
    width = max(len(env_id) for env_id in SUITE)
    for env_id, (*_, description) in SUITE.items():
        print(f"{env_id:<{width}}  {description}")
    return 0


def cmd_describe(args: argparse.Namespace) -> int:
    env_id = resolve_id(args.env_id)
    env = gym.make(env_id)
    try:
        sim = env.unwrapped.sim
        print(env_id)
        print(f"  {SUITE[env_id][3]}")
        print("\nObservation space (Dict):")
        print(_format_space(env.observation_space))
        print("\nAction space:")
        print(_format_space(env.action_space))
        print("\nParts and parameters (pass any of these to gym.make to override):")
        for name, spec in sim.describe().items():
            print(f"  {name}: {json.dumps(spec)}")
    finally:
        env.close()

    references = load_reference_returns()
    if references is not None and env_id in references:
        print("\nReference returns (mean [95% CI]):")
        for policy, result in references[env_id].items():
            print(
                f"  {policy:<7} {result['mean']:.2f} [{result['low']:.2f}, {result['high']:.2f}]"
                f"  ({result['episodes']} episodes, seed {result['seed']})"
            )
        print(f"  measured by: {references.get('command', '?')}")
    else:
        print("\nReference returns: not measured yet (python benchmarks/reference_returns.py)")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    if args.episodes < 1:
        print("recsim-bench demo: --episodes must be >= 1", file=sys.stderr)
        return 2
    references = load_reference_returns() or {}
    print(f"recsim-bench {recsim_bench.__version__}: mean return over {args.episodes} episode(s), seed {args.seed}")
    print("(in brackets: the reference mean over 1,000 episodes)\n")
    width = max(len(env_id) for env_id in SUITE)
    print(f"{'environment':<{width}}  " + "  ".join(f"{p:>18}" for p in DEMO_POLICIES))
    start = time.perf_counter()
    for env_id in SUITE:
        cells = []
        for name in DEMO_POLICIES:
            mean = float(evaluate(env_id, POLICIES[name], episodes=args.episodes, seed=args.seed).mean())
            reference = references.get(env_id, {}).get(name)
            cells.append(f"{mean:8.2f}" + (f" [{reference['mean']:7.2f}]" if reference else " " * 10))
        print(f"{env_id:<{width}}  " + "  ".join(f"{c:>18}" for c in cells))
    print(f"\n{time.perf_counter() - start:.1f} s. Next: recsim-bench describe ID")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="recsim-bench",
        description="Gymnasium environments for reinforcement learning in recommender systems.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {recsim_bench.__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    commands.add_parser("list", help="list the registered environment ids").set_defaults(run=cmd_list)

    describe = commands.add_parser("describe", help="spaces, parts and reference returns of an environment")
    describe.add_argument("env_id", metavar="ID", help="e.g. RecSimBench/InterestEvolution-v0")
    describe.set_defaults(run=cmd_describe)

    demo = commands.add_parser("demo", help="simulate a few episodes of every environment with reference policies")
    demo.add_argument("--episodes", type=int, default=5, help="episodes per environment and policy (default 5)")
    demo.add_argument("--seed", type=int, default=0, help="seed of the first episode (default 0)")
    demo.set_defaults(run=cmd_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (2 for usage errors and unknown ids)."""
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except UnknownEnvironment as error:
        print(f"recsim-bench {args.command}: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
