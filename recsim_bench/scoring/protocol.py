"""The evaluation protocol: what a score means, fixed per version and readable as data.

A protocol (``recsim_bench/scoring/protocols/<version>.json``, e.g. ``v1``) fixes, for every
environment of the suite:

- the evaluation split (``test``) and users: episode ``e`` serves test user ``e`` in a
  vector-env row seeded ``eval_seed + e`` (the mapping of
  :func:`recsim_bench.agents.evaluate_episodes`), for ``e`` in ``0 .. episodes - 1``;
- the training budget ``train_steps`` (the most environment steps, i.e. user-steps, an agent
  may train on) and the training seeds ``train_seeds`` (at least 5);
- for meta-RL environments, the adaptation schedule: a trial of ``sessions`` consecutive
  episodes of each test user (:func:`recsim_bench.agents.evaluate_sessions`); the score is the return of each
  session and, overall, the user's mean session return;
- the normalisation references (see :func:`measure_references`), measured under this protocol
  and stored with it: the random reference, the myopic oracle, and ``best``, the best of the
  environment's privileged references (the oracle, or a long-run policy of
  :data:`recsim_bench.references.LONG_RUN_POLICIES` where one beats it). A normalised score is
  ``(R - R_random) / (R_best - R_random)``: 0 is random, 1 the best reference the env knows.
  The myopic oracle alone would make a poor upper bound: on LongTermSatisfaction-v0 it scores
  below random, which would flip the sign of every score.

Refresh the references after a change of dynamics (which is a new environment version, hence
a new protocol version)::

    python -m recsim_bench.scoring.protocol --measure            # writes protocols/v1.json

This module needs numpy, scipy (the intervals of :mod:`recsim_bench.scoring.metrics`) and gymnasium.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path
from typing import Any, Iterable

import gymnasium as gym
import numpy as np
from numpy.typing import NDArray

from recsim_bench.agents import Agent, evaluate_agent, evaluate_sessions
from recsim_bench.checks import is_integer
from recsim_bench.files import write_json_atomic
from recsim_bench.references import reference_agent, reference_names
from recsim_bench.rng import SPLITS
from recsim_bench.scoring.metrics import mean_ci

#: Where the protocol files live, one ``<version>.json`` each.
PROTOCOL_DIR = Path(__file__).resolve().parent / "protocols"

#: The protocol a submission is scored under unless told otherwise.
DEFAULT_VERSION = "v1"
#: The quick version of a shipped protocol ``v`` is ``v + QUICK_SUFFIX`` (see :func:`quick_protocol`).
QUICK_SUFFIX = "-quick"
QUICK_EPISODES = 100  # test users per environment (v1: 500)
QUICK_TRAIN_STEPS = 98_304  # training budget (v1: 2,000,000): three PPO rollouts of 1024 x 32 steps

#: Fewest training seeds a protocol may ask for.
MIN_TRAIN_SEEDS = 5

#: The references stored with a protocol; ``random`` and :data:`UPPER_REFERENCE` bound the normalised score.
REFERENCE_AGENTS = ("random", "oracle")

#: The stored reference that scores 1 when normalised: the best privileged reference of the env.
UPPER_REFERENCE = "best"

_ENV_KEYS = {"split", "episodes", "eval_seed", "train_steps", "train_seeds", "sessions", "references"}
_TOP_KEYS = {"version", "description", "envs", "references_measured_by"}


@dataclasses.dataclass(frozen=True)
class EnvProtocol:
    """The protocol of one environment."""

    env_id: str
    split: str  # users scored: "test"
    episodes: int  # test users 0 .. episodes - 1 (one trial each when sessions is set)
    eval_seed: int  # episode (user) e runs in a row seeded eval_seed + e
    train_steps: int  # training budget: the most environment steps an agent may train on
    train_seeds: tuple[int, ...]  # one result per training seed
    sessions: int | None = None  # meta-RL: sessions per trial of a test user; None: one episode per user
    references: dict[str, Any] | None = None  # {"random": {"mean", "low", "high", "sessions"?}, "oracle": {...}, "best": {"policy", ...}}

    def reference(self, name: str) -> float:
        """The mean return of reference ``name`` (``"random"``, ``"oracle"`` or ``"best"``) under this protocol."""
        if not self.references or name not in self.references:
            raise ValueError(f"{self.env_id}: no {name!r} reference measured (python -m recsim_bench.scoring.protocol --measure)")
        return float(self.references[name]["mean"])

    def to_json(self) -> dict[str, Any]:
        """The entry of this environment in the protocol file."""
        return {
            "split": self.split,
            "episodes": self.episodes,
            "eval_seed": self.eval_seed,
            "train_steps": self.train_steps,
            "train_seeds": list(self.train_seeds),
            "sessions": self.sessions,
            "references": self.references,
        }


@dataclasses.dataclass(frozen=True)
class Protocol:
    """A versioned evaluation protocol: an :class:`EnvProtocol` per environment, in suite order."""

    version: str
    description: str
    envs: dict[str, EnvProtocol]
    references_measured_by: dict[str, Any] | None = None

    @property
    def env_ids(self) -> list[str]:
        return list(self.envs)

    def env(self, env_id: str) -> EnvProtocol:
        """The protocol of ``env_id``; an environment the protocol does not cover raises ``ValueError``."""
        if env_id not in self.envs:
            raise ValueError(f"protocol {self.version} has no environment {env_id!r}; it covers {self.env_ids}")
        return self.envs[env_id]

    def normalise(self, env_id: str, mean_return: float) -> float:
        """``(R - R_random) / (R_best - R_random)`` with this protocol's references of ``env_id``."""
        entry = self.env(env_id)
        low, high = entry.reference("random"), entry.reference(UPPER_REFERENCE)
        return (float(mean_return) - low) / (high - low)

    def restrict(self, env_ids: Iterable[str] | None = None, **changes: Any) -> "Protocol":
        """A copy keeping only ``env_ids`` (default: all), each entry with ``changes`` applied.

        For tests and quick checks (e.g. ``restrict([env_id], episodes=8)``): results made under
        a changed protocol do not validate against the published one.
        """
        keep = self.env_ids if env_ids is None else [self.env(env_id).env_id for env_id in env_ids]
        changeable = {f.name for f in dataclasses.fields(EnvProtocol)} - {"env_id"}
        unknown = sorted(set(changes) - changeable)
        if unknown:
            raise ValueError(f"restrict: cannot change {unknown}; allowed: {sorted(changeable)}")
        envs = {env_id: dataclasses.replace(self.envs[env_id], **changes) for env_id in keep}
        for entry in envs.values():
            _check_entry(entry)
        return dataclasses.replace(self, envs=envs)

    def to_json(self) -> dict[str, Any]:
        """The protocol file's content."""
        return {
            "version": self.version,
            "description": self.description,
            "envs": {env_id: entry.to_json() for env_id, entry in self.envs.items()},
            "references_measured_by": self.references_measured_by,
        }


def _is_int(value: Any, low: int = 0) -> bool:
    return is_integer(value) and value >= low


def _check_entry(entry: EnvProtocol) -> None:
    where = f"protocol entry {entry.env_id!r}"
    if entry.split not in SPLITS:
        raise ValueError(f"{where}: split must be one of {list(SPLITS)}, got {entry.split!r}")
    for name in ("episodes", "train_steps"):
        if not _is_int(getattr(entry, name), 1):
            raise ValueError(f"{where}: {name} must be an integer >= 1, got {getattr(entry, name)!r}")
    if not _is_int(entry.eval_seed, 0):
        raise ValueError(f"{where}: eval_seed must be an integer >= 0, got {entry.eval_seed!r}")
    seeds = entry.train_seeds
    if not all(_is_int(s, 0) for s in seeds) or len(set(seeds)) != len(seeds) or len(seeds) < MIN_TRAIN_SEEDS:
        raise ValueError(f"{where}: train_seeds must be at least {MIN_TRAIN_SEEDS} distinct integers >= 0, got {list(seeds)!r}")
    if entry.sessions is not None and not _is_int(entry.sessions, 1):
        raise ValueError(f"{where}: sessions must be null or an integer >= 1, got {entry.sessions!r}")
    if entry.references is not None and not isinstance(entry.references, dict):
        raise ValueError(f"{where}: references must be null or an object, got {entry.references!r}")


def protocol_from_json(data: Any, source: str = "protocol") -> Protocol:
    """A :class:`Protocol` from a protocol file's parsed content; anything malformed raises ``ValueError``."""
    if not isinstance(data, dict) or not {"version", "envs"} <= set(data) or set(data) - _TOP_KEYS:
        raise ValueError(f"{source}: expected an object with keys {sorted(_TOP_KEYS)}")
    if not isinstance(data["envs"], dict) or not data["envs"]:
        raise ValueError(f"{source}: 'envs' must be a non-empty object of env id -> entry")
    envs = {}
    for env_id, raw in data["envs"].items():
        if not isinstance(raw, dict) or set(raw) - _ENV_KEYS or not {"split", "episodes", "eval_seed", "train_steps", "train_seeds"} <= set(raw):
            raise ValueError(f"{source}: entry {env_id!r} must be an object with keys {sorted(_ENV_KEYS)}")
        if not isinstance(raw["train_seeds"], list):
            raise ValueError(f"{source}: entry {env_id!r}: train_seeds must be a list")
        entry = EnvProtocol(
            env_id=env_id,
            split=raw["split"],
            episodes=raw["episodes"],
            eval_seed=raw["eval_seed"],
            train_steps=raw["train_steps"],
            train_seeds=tuple(raw["train_seeds"]),
            sessions=raw.get("sessions"),
            references=raw.get("references"),
        )
        _check_entry(entry)
        envs[env_id] = entry
    return Protocol(
        version=str(data["version"]),
        description=str(data.get("description", "")),
        envs=envs,
        references_measured_by=data.get("references_measured_by"),
    )


def protocol_versions() -> list[str]:
    """The versions shipped in :data:`PROTOCOL_DIR`."""
    return sorted(path.stem for path in PROTOCOL_DIR.glob("*.json"))


def protocol_path(version: str) -> Path:
    """The file of protocol ``version``; an unknown version raises ``ValueError`` with the known ones."""
    if not isinstance(version, str) or version not in protocol_versions():
        raise ValueError(f"unknown protocol version {version!r}; known: {protocol_versions()}")
    return PROTOCOL_DIR / f"{version}.json"


def load_protocol(version: str | Protocol = DEFAULT_VERSION) -> Protocol:
    """The protocol ``version`` (e.g. ``"v1"``, or ``"v1-quick"``: :func:`quick_protocol` of v1); a :class:`Protocol` is returned as is."""
    if isinstance(version, Protocol):
        return version
    if not isinstance(version, str) or version not in known_versions():
        raise ValueError(f"unknown protocol version {version!r}; known: {known_versions()}")
    if version.endswith(QUICK_SUFFIX):
        return quick_protocol(version[: -len(QUICK_SUFFIX)])
    path = protocol_path(version)
    with open(path, encoding="utf-8") as f:
        protocol = protocol_from_json(json.load(f), source=str(path))
    if protocol.version != version:
        raise ValueError(f"{path}: says version {protocol.version!r}, expected {version!r}")
    return protocol


def known_versions() -> list[str]:
    """Every version :func:`load_protocol` knows: the shipped ones and each one's quick version."""
    shipped = protocol_versions()
    return sorted([*shipped, *(version + QUICK_SUFFIX for version in shipped)])


def quick_protocol(base: str = DEFAULT_VERSION) -> Protocol:
    """Protocol ``<base>-quick`` (``recsim-bench run --quick``): ``base`` cut to :data:`QUICK_EPISODES` test
    users and :data:`QUICK_TRAIN_STEPS` of training.

    Its results name version ``<base>-quick``, validate only against it (never against ``base``) and are
    normalised with ``base``'s references, measured on ``base``'s own test users.
    """
    shipped = load_protocol(base)
    quick = shipped.restrict(episodes=QUICK_EPISODES, train_steps=QUICK_TRAIN_STEPS)
    version = base + QUICK_SUFFIX
    description = (
        f"{version}: a quick check, NOT comparable with {base}: {base} cut to test users 0..{QUICK_EPISODES - 1} and "
        f"{QUICK_TRAIN_STEPS:,} training steps per seed ({base}'s references, measured on its own users). From: {shipped.description}"
    )
    return dataclasses.replace(quick, version=version, description=description)


def is_published(protocol: Protocol) -> bool:
    """Whether ``protocol`` is exactly the shipped protocol of its version (its results compare with others')."""
    return protocol.version in protocol_versions() and protocol.to_json() == load_protocol(protocol.version).to_json()


def upper_candidates(env_id: str) -> list[str]:
    """The privileged references that compete for ``best``: ``oracle``, then the env's long-run policies
    (:data:`~recsim_bench.references.LONG_RUN_POLICIES`)."""
    return [name for name in reference_names(env_id) if name not in ("random", "greedy")]


def evaluate_protocol_entry(agent: Agent, entry: EnvProtocol, num_envs: int | None = None) -> tuple[NDArray[np.float64], NDArray[np.float64] | None]:
    """``(returns, session_returns)`` of ``agent`` under ``entry``.

    ``returns`` is ``(episodes,)``: the episode return, or with sessions each user's mean session
    return; ``session_returns`` is ``(episodes, sessions)`` with sessions, else ``None``.
    """
    if entry.sessions is None:
        return evaluate_agent(agent, entry.env_id, entry.episodes, entry.eval_seed, split=entry.split, num_envs=num_envs), None
    per_session = evaluate_sessions(agent, entry.env_id, entry.episodes, entry.sessions, entry.eval_seed, entry.split, num_envs)
    return per_session.mean(axis=1), per_session


def _summary(values: NDArray[np.float64]) -> dict[str, float]:
    mean, low, high = mean_ci(values)
    return {"mean": mean, "low": low, "high": high}


def _measure(agent: Agent, entry: EnvProtocol) -> dict[str, Any]:
    returns, per_session = evaluate_protocol_entry(agent, entry)
    record: dict[str, Any] = _summary(returns)
    if per_session is not None:
        record["sessions"] = [float(v) for v in per_session.mean(axis=0)]
    return record


def measure_references(protocol: Protocol | str = DEFAULT_VERSION, env_ids: Iterable[str] | None = None) -> dict[str, dict[str, Any]]:
    """``{env_id: {"random": {...}, "oracle": {...}, "best": {"policy": name, ...}}}``: mean returns with 95% Student-t intervals.

    Measured exactly as a submission is scored (:func:`evaluate_protocol_entry`); with sessions,
    each reference also gets ``"sessions"``: the mean return of each session. ``best`` is the
    highest-scoring of :func:`upper_candidates`, named by ``"policy"``.
    """
    protocol = load_protocol(protocol)
    measured: dict[str, dict[str, Any]] = {}
    for env_id in protocol.env_ids if env_ids is None else list(env_ids):
        entry = protocol.env(env_id)
        measured[env_id] = {name: _measure(reference_agent(env_id, name), entry) for name in REFERENCE_AGENTS}
        candidates = {"oracle": measured[env_id]["oracle"]}
        for name in upper_candidates(env_id)[1:]:
            candidates[name] = _measure(reference_agent(env_id, name), entry)
        best = max(candidates, key=lambda name: candidates[name]["mean"])
        measured[env_id][UPPER_REFERENCE] = {"policy": best, **candidates[best]}
    return measured


def main(argv: list[str] | None = None) -> int:
    import recsim_bench

    parser = argparse.ArgumentParser(prog="python -m recsim_bench.scoring.protocol", description="Show a protocol, or measure its references.")
    parser.add_argument("--version", default=DEFAULT_VERSION, help=f"protocol version (default {DEFAULT_VERSION})")
    parser.add_argument("--measure", action="store_true", help="measure the references (random, oracle, best) and write them into the protocol file")
    args = parser.parse_args(argv)
    protocol = load_protocol(args.version)
    if not args.measure:
        print(json.dumps(protocol.to_json(), indent=2))
        return 0
    start = time.perf_counter()
    measured = measure_references(protocol)
    envs = {env_id: dataclasses.replace(entry, references=measured[env_id]) for env_id, entry in protocol.envs.items()}
    by = {
        "command": f"python -m recsim_bench.scoring.protocol --measure --version {args.version}",
        "recsim_bench": recsim_bench.__version__,
        "numpy": np.__version__,
        "gymnasium": gym.__version__,
    }
    write_json_atomic(protocol_path(args.version), dataclasses.replace(protocol, envs=envs, references_measured_by=by).to_json())
    for env_id, refs in measured.items():
        best = refs[UPPER_REFERENCE]
        print(f"{env_id:<40} random {refs['random']['mean']:9.3f}   oracle {refs['oracle']['mean']:9.3f}   best ({best['policy']}) {best['mean']:9.3f}")
    print(f"wrote {protocol_path(args.version)} ({time.perf_counter() - start:.1f} s)")
    return 0


__all__ = [
    "DEFAULT_VERSION",
    "MIN_TRAIN_SEEDS",
    "QUICK_EPISODES",
    "QUICK_SUFFIX",
    "QUICK_TRAIN_STEPS",
    "PROTOCOL_DIR",
    "EnvProtocol",
    "Protocol",
    "UPPER_REFERENCE",
    "evaluate_protocol_entry",
    "is_published",
    "known_versions",
    "load_protocol",
    "measure_references",
    "protocol_from_json",
    "protocol_versions",
    "quick_protocol",
    "upper_candidates",
]


if __name__ == "__main__":
    sys.exit(main())
