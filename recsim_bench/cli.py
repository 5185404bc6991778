"""The ``recsim-bench`` command (also ``python -m recsim_bench``).

    recsim-bench list                         registered ids, one line each
    recsim-bench describe RecSimBench/InterestEvolution-v0
    recsim-bench demo [--episodes 5] [--seed 0]
    recsim-bench train AGENT ID --steps N --seed S --device auto --out DIR [--set key=value ...] [--resume]
    recsim-bench evaluate AGENT ID [--checkpoint DIR] --episodes N --split test --seed S [--num-envs N]
    recsim-bench validate PATH... [--rerun POLICY [--verified DIR]] [--partial]
    recsim-bench run --agents ppo,linucb [--envs all] [--seeds 5] [--backend local|ray] [--workers N] --out DIR [--quick]
    recsim-bench leaderboard PATH... --out DIR [--protocol V] [--reference AGENT ...] [--verified DIR] [--no-figures]

``train`` and ``evaluate`` of the agents of ``baselines/`` need the ``baselines`` extra; the references
``random`` and ``oracle`` need nothing more than the core.

``describe`` and other commands taking an id also accept it without the
``RecSimBench/`` namespace. An unknown id exits with status 2.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Sequence

import gymnasium as gym
import numpy as np

import recsim_bench
from recsim_bench.envs import NAMESPACE, SUITE
from recsim_bench.seeding import check_seed
from recsim_bench.agents import agent_class, evaluate_agent, evaluate_episodes, learns, make_agent
from recsim_bench.envs.cards import load_reference_returns
from recsim_bench.references import reference_agent
from recsim_bench.scoring.metrics import mean_ci

DEMO_REFERENCES = ("random", "greedy")


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
    for env_id, entry in SUITE.items():
        print(f"{env_id:<{width}}  {entry.description}")
    return 0


def cmd_describe(args: argparse.Namespace) -> int:
    env_id = resolve_id(args.env_id)
    env = gym.make(env_id)
    try:
        sim = env.unwrapped.sim
        print(env_id)
        print(f"  {SUITE[env_id].description}")
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
    if env_id in references:
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
    references = load_reference_returns()
    print(f"recsim-bench {recsim_bench.__version__}: mean return over {args.episodes} episode(s), seed {args.seed}")
    print("(in brackets: the reference mean over 1,000 episodes)\n")
    width = max(len(env_id) for env_id in SUITE)
    print(f"{'environment':<{width}}  " + "  ".join(f"{p:>18}" for p in DEMO_REFERENCES))
    start = time.perf_counter()
    for env_id in SUITE:
        cells = []
        for name in DEMO_REFERENCES:
            agent = reference_agent(env_id, name)
            mean = float(evaluate_episodes(agent, env_id, args.episodes, args.seed, split="train", fresh_users=True).returns.mean())
            reference = references.get(env_id, {}).get(name)
            cells.append(f"{mean:8.2f}" + (f" [{reference['mean']:7.2f}]" if reference else " " * 10))
        print(f"{env_id:<{width}}  " + "  ".join(f"{c:>18}" for c in cells))
    print(f"\n{time.perf_counter() - start:.1f} s. Next: recsim-bench describe ID")
    return 0


def _overrides(pairs: list[str]) -> dict[str, Any]:
    """``key=value`` pairs, each value read as JSON when it parses (numbers, booleans, lists), else as a string."""
    values = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        if not sep or not key:
            raise ValueError(f"--set expects key=value, got {pair!r}")
        try:
            values[key] = json.loads(text)
        except json.JSONDecodeError:
            values[key] = text
    return values


def _check_device(device: str) -> None:
    """Refuse a CUDA or MPS device that this machine does not have (torch would fail midway with a traceback)."""
    if device in ("auto", "cpu"):
        return  # nothing to check, and an agent without torch must not need it
    try:
        import torch
    except ImportError:
        raise ValueError(f"--device {device}: needs torch, which is not installed (pip install 'recsim-bench[baselines]')") from None

    if device.startswith("cuda"):
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        index = int(device.partition(":")[2] or 0)
        if index >= count:
            raise ValueError(f"--device {device}: this machine has {count} CUDA device(s); use --device auto or cpu")
    if device == "mps" and not torch.backends.mps.is_available():
        raise ValueError("--device mps: MPS is not available on this machine; use --device auto or cpu")


def _writable_directory(path: str) -> Path:
    """``path`` as a directory, created if needed, that a file can be written in; else ``ValueError`` naming ``--out``."""
    out = Path(path)
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=out):
            pass
    except OSError as error:
        raise ValueError(f"--out {path}: cannot write there ({error.strerror or error})") from None
    return out


def cmd_train(args: argparse.Namespace) -> int:
    from recsim_bench.scoring.runner import train_and_save, verbosity

    env_id = resolve_id(args.env_id)
    cls = agent_class(args.agent)
    if not learns(cls):
        raise ValueError(
            f"{args.agent} does not learn, so it needs no training: evaluate it directly with "
            f"recsim-bench evaluate {args.agent} {args.env_id}"
        )
    _check_device(args.device)
    env_kwargs = args.env_kwargs
    overrides = {**verbosity(args.agent, True), **_overrides(args.set)}  # progress lines (steps/s, recent return)
    agent = make_agent(args.agent, env_id, overrides, env_kwargs=env_kwargs)
    created = not Path(args.out).exists()
    out = _writable_directory(args.out)  # the first thing written, once everything else is checked
    print(f"training {args.agent} on {env_id} for {args.steps:,} steps (seed {args.seed}, device {args.device}) -> {out}")
    try:
        run, _ = train_and_save(agent, args.agent, env_id, args.steps, args.seed, out, args.device, env_kwargs, resume=args.resume)
    except ValueError:
        if created and not any(out.iterdir()):  # refused before anything was written: leave no trace
            out.rmdir()
        raise
    print(json.dumps(run["summary"], indent=2))
    return 0


def _check_checkpoint_fits(agent: Any, checkpoint: str, env_id: str) -> None:
    """Refuse a checkpoint trained on another environment: by the id it records, else by acting once on ``env_id``."""
    trained_on = getattr(agent, "env_id", None)
    if isinstance(trained_on, str) and trained_on != env_id:
        raise ValueError(f"--checkpoint {checkpoint} was trained on {trained_on}, not {env_id}: evaluate it on {trained_on}")
    env = gym.make_vec(env_id, num_envs=1, vectorization_mode="vector_entry_point")
    try:
        obs, _ = env.reset(seed=0)
        if hasattr(agent, "bind"):
            agent.bind(env.unwrapped)
        agent.reset(np.ones(1, dtype=bool), np.zeros(1, dtype=np.int64))
        env.unwrapped.sim.validate_slates(agent.act(obs), num_rows=1)
    except (RuntimeError, ValueError, IndexError, KeyError) as error:  # torch's shape errors are RuntimeErrors
        raise ValueError(
            f"--checkpoint {checkpoint} does not fit {env_id} (trained on another environment?): {str(error).splitlines()[0]}"
        ) from None
    finally:
        env.close()


def cmd_evaluate(args: argparse.Namespace) -> int:
    env_id = resolve_id(args.env_id)
    cls = agent_class(args.agent)
    if not learns(cls):
        if args.checkpoint is not None:
            raise ValueError(f"--checkpoint: {args.agent} does not learn, so it has no checkpoint; leave --checkpoint out")
        agent = make_agent(args.agent, env_id)
    elif args.checkpoint is None:
        raise ValueError(
            f"{args.agent} learns: pass --checkpoint DIR (written by recsim-bench train {args.agent} {args.env_id} --out DIR)"
        )
    else:
        _check_device(args.device)
        agent = cls.load(args.checkpoint, device=args.device)
        _check_checkpoint_fits(agent, args.checkpoint, env_id)
    start = time.perf_counter()
    returns = evaluate_agent(agent, env_id, args.episodes, args.seed, split=args.split, num_envs=args.num_envs)
    mean, low, high = mean_ci(returns)
    print(
        f"{args.agent} on {env_id}, {args.split} users 0..{args.episodes - 1}, seed {args.seed}: "
        f"mean return {mean:.2f} [95% CI {low:.2f}, {high:.2f}] ({time.perf_counter() - start:.1f} s)"
    )
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    from recsim_bench.scoring.results import validate_main

    return validate_main(args.paths, rerun=args.rerun, protocol=args.protocol, partial=args.partial, verified=args.verified)


def _names(text: str) -> list[str]:
    """The names of a comma-separated list, e.g. ``ppo,linucb``."""
    return [name.strip() for name in text.split(",") if name.strip()]


def cmd_run(args: argparse.Namespace) -> int:
    from recsim_bench.scoring.protocol import DEFAULT_VERSION, QUICK_SUFFIX, quick_protocol
    from recsim_bench.scoring.runner import QUICK_AGENTS, run

    if args.quick and args.protocol is not None:
        raise ValueError(f"--protocol: --quick runs its own protocol {DEFAULT_VERSION}{QUICK_SUFFIX} (cut from {DEFAULT_VERSION}); leave --protocol out")
    if args.agents is None and not args.quick:
        raise ValueError("--agents is required (e.g. --agents ppo,linucb), or use --quick")
    report = run(
        QUICK_AGENTS if args.agents is None else _names(args.agents),
        args.out,
        envs=args.envs if args.envs == "all" else _names(args.envs),
        seeds=args.seeds,
        protocol=quick_protocol() if args.quick else args.protocol or "v1",
        backend=args.backend,
        workers=args.workers,
        device=args.device,
        address=args.address,
    )
    return report.exit_status


def cmd_leaderboard(args: argparse.Namespace) -> int:
    from recsim_bench.scoring.leaderboard import InvalidResults, write_leaderboard

    try:
        tables = write_leaderboard(
            args.paths, args.out, protocol=args.protocol, figures=not args.no_figures, references=args.reference, verified=args.verified
        )
    except InvalidResults as error:
        print(f"recsim-bench leaderboard: {error}", file=sys.stderr)
        return 1
    print(tables)
    print(f"wrote {Path(args.out) / 'LEADERBOARD.md'}, leaderboard.csv" + ("" if args.no_figures else " and figures/"))
    return 0


class _Parser(argparse.ArgumentParser):
    """Usage errors as one line on stderr (``prog: error: message``) and exit status 2, like every other error here."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _count(text: str) -> int:
    """An integer >= 1 (steps, episodes, rows)."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be an integer >= 1, got {text!r}")
    return value


def _seed(text: str) -> int:
    """A seed: an integer in [0, 2**64), the environments' rule (:func:`recsim_bench.seeding.check_seed`)."""
    try:
        return check_seed(int(text))
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer in [0, 2**64), got {text!r}") from None


def _device(text: str) -> str:
    from recsim_bench.scoring.results import REQUESTED_DEVICE

    if not REQUESTED_DEVICE.fullmatch(text):
        raise argparse.ArgumentTypeError(f"must be one of auto, cpu, cuda, cuda:N, mps; got {text!r}")
    return text


def _json_object(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise argparse.ArgumentTypeError(f"not valid JSON ({error}): {text!r}") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError(f"must be a JSON object of gym.make arguments, got {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
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
    demo.add_argument("--episodes", type=_count, default=5, help="episodes per environment and policy (default 5)")
    demo.add_argument("--seed", type=_seed, default=0, help="seed of the first episode (default 0)")
    demo.set_defaults(run=cmd_demo)

    train = commands.add_parser("train", help="train a reference agent and save its weights, config and learning curve")
    train.add_argument("agent", metavar="AGENT", help="e.g. ppo, slateq, sb3-ppo, ridge-greedy")
    train.add_argument("env_id", metavar="ID")
    train.add_argument("--steps", type=_count, required=True, help="environment steps (user-steps) to train for")
    train.add_argument("--seed", type=_seed, default=0)
    train.add_argument("--device", type=_device, default="auto", help="auto (CUDA when present), cpu, cuda, cuda:N or mps")
    train.add_argument("--out", required=True, help="directory for weights, config.json, run.json, progress.csv")
    train.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a hyperparameter")
    train.add_argument("--env-kwargs", type=_json_object, default={}, help="JSON dict of gym.make arguments")
    train.add_argument(
        "--resume", action="store_true", help="continue from the last checkpoint in --out, up to --steps in total (ppo)"
    )
    train.set_defaults(run=cmd_train)

    evaluate_cmd = commands.add_parser("evaluate", help="mean return with a 95%% CI of an agent on test users")
    evaluate_cmd.add_argument("agent", metavar="AGENT")
    evaluate_cmd.add_argument("env_id", metavar="ID")
    evaluate_cmd.add_argument("--checkpoint", default=None, help="directory written by recsim-bench train")
    evaluate_cmd.add_argument("--episodes", type=_count, default=1000)
    evaluate_cmd.add_argument("--split", default="test", choices=["train", "test"])
    evaluate_cmd.add_argument("--seed", type=_seed, default=0)
    evaluate_cmd.add_argument("--num-envs", type=_count, default=None, help="users in parallel (the numbers do not change)")
    evaluate_cmd.add_argument("--device", type=_device, default="auto", help="auto (CUDA when present), cpu, cuda, cuda:N or mps")
    evaluate_cmd.set_defaults(run=cmd_evaluate)

    validate = commands.add_parser("validate", help="check result files against the protocol; --rerun re-evaluates")
    validate.add_argument("paths", nargs="+", metavar="PATH", help="result files or directories of them")
    validate.add_argument(
        "--rerun", default=None, metavar="POLICY", help="checkpoint dir or module:callable ({env}, {seed} placeholders)"
    )
    validate.add_argument(
        "--verified", default=None, metavar="DIR",
        help="where --rerun writes verification records (default: verified/ beside the results/ directory holding each file)",
    )
    validate.add_argument("--protocol", default=None, help="protocol version (default: the one each file names)")
    validate.add_argument("--partial", action="store_true", help="do not require a complete submission")
    validate.set_defaults(run=cmd_validate)

    run_cmd = commands.add_parser("run", help="train and evaluate agents x environments x seeds under a protocol; resumable")
    run_cmd.add_argument("--agents", default=None, help="comma-separated agents, e.g. ppo,linucb (default with --quick: the fast ones)")
    run_cmd.add_argument("--envs", default="all", help="all (default) or comma-separated ids, with or without RecSimBench/")
    run_cmd.add_argument("--seeds", type=_count, default=None, help="the first N training seeds of the protocol (default: all)")
    run_cmd.add_argument("--protocol", default=None, help="protocol version (default v1)")
    run_cmd.add_argument("--backend", default="local", help="local (processes, default) or ray")
    run_cmd.add_argument("--workers", type=_count, default=None, help="jobs at once (default: local, one per CPU; ray, the cluster's)")
    run_cmd.add_argument("--device", type=_device, default="auto", help="auto (CUDA when present), cpu, cuda, cuda:N or mps")
    run_cmd.add_argument("--address", default=None, help="Ray cluster address (default: a local Ray instance)")
    run_cmd.add_argument("--out", required=True, help="output directory: results/, checkpoints/, leaderboard/")
    run_cmd.add_argument(
        "--quick", action="store_true", help="the quick protocol (v1 cut down, NOT comparable with v1) with the fast agents"
    )
    run_cmd.set_defaults(run=cmd_run)

    leaderboard = commands.add_parser("leaderboard", help="validate result files, then write ranked tables (Markdown, CSV) and figures")
    leaderboard.add_argument("paths", nargs="+", metavar="PATH", help="result files or directories of them")
    leaderboard.add_argument("--out", default="leaderboards", help="output directory (default leaderboards)")
    leaderboard.add_argument("--protocol", default=None, help="protocol version (default: the one the files name)")
    leaderboard.add_argument(
        "--reference", action="append", default=None, metavar="AGENT",
        help="an agent P(improvement) compares with (repeatable; default: every ranked agent)",
    )
    leaderboard.add_argument(
        "--verified", default=None, metavar="DIR",
        help="the maintainers' verification records (default: verified/ beside the results/ directory holding each file)",
    )
    leaderboard.add_argument("--no-figures", action="store_true", help="skip the PNG figures (no matplotlib needed)")
    leaderboard.set_defaults(run=cmd_leaderboard)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (2 for usage errors and unknown ids, 1 when a file
    cannot be read or written). Errors are one line on stderr, never a traceback."""
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except (UnknownEnvironment, ValueError) as error:
        print(f"recsim-bench {args.command}: error: {error}", file=sys.stderr)
        return 2
    except OSError as error:
        print(f"recsim-bench {args.command}: error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
