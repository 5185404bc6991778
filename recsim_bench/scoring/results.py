"""Result files: one JSON file per (agent, environment, training seed), checksummed and validated.

A result (schema :data:`SCHEMA_VERSION`) records who was evaluated (agent name, version and
resolved configuration), on what (``env_id`` and the environment spec, ``gym.spec(env_id).to_json()``
parsed), under which protocol (version, split, evaluation seed, episodes, sessions), with which
training seed and how many environment steps of training (``train_steps``), the raw per-episode
returns (and per-session returns for meta-RL environments), the wall time, the device and the
provenance (package versions, the git commit of the agent's code when it is in a git checkout). ``checksum`` is the SHA-256 of the canonical JSON of everything
else (:func:`checksum`).

A third party scores its own agent with one call::

    from recsim_bench.scoring.results import evaluate
    results = evaluate(my_agent, protocol="v1", agent_name="my-agent", out_dir="results/")

and checks files with ``recsim-bench validate results/*.json [--rerun module:callable]``
(:func:`validate_main`). Evaluation is keyed (episode ``e`` is test user ``e`` in a row seeded
``eval_seed + e``), so re-evaluating the same policy gives the same numbers bit for bit
(:func:`rerun`).

This module needs only numpy, scipy and gymnasium; loading a checkpoint needs its agent's package (e.g. ``baselines``).
"""

from __future__ import annotations

import dataclasses
import datetime
import functools
import hashlib
import importlib
import importlib.util
import inspect
import json
import math
import platform
import re
import subprocess
import sys
import time
from collections.abc import Mapping
from importlib import metadata
from pathlib import Path
from typing import Any, Iterable

import gymnasium as gym
import numpy as np

from recsim_bench.agents import Agent, agent_class, agent_names, default_config, learns, make_agent
from recsim_bench.checks import is_integer
from recsim_bench.files import MAX_CONFIG_BYTES, MAX_CONFIG_DEPTH, read_json_strict, write_json_atomic
from recsim_bench.scoring.metrics import mean_ci
from recsim_bench.scoring.protocol import (
    DEFAULT_VERSION,
    Protocol,
    evaluate_protocol_entry,
    known_versions,
    load_protocol,
)

#: Version of the result file layout written; 2 added ``train_steps``.
SCHEMA_VERSION = 2
#: The layouts a reader accepts: version 1 files (no ``train_steps``: the budget used is unknown) and the current one.
READABLE_SCHEMA_VERSIONS = (1, SCHEMA_VERSION)

#: Top-level keys of a result and the JSON types each must have (``None`` allowed where listed).
_SCHEMA: dict[str, tuple[type, ...]] = {
    "schema_version": (int,),
    "agent": (dict,),
    "env_id": (str,),
    "env_spec": (dict,),
    "protocol": (str,),
    "split": (str,),
    "seeds": (dict,),
    "train_steps": (int, type(None)),
    "episodes": (int,),
    "sessions": (int, type(None)),
    "returns": (list,),
    "session_returns": (list, type(None)),
    "wall_time": (dict,),
    "device": (str,),
    "provenance": (dict,),
    "checksum": (str,),
}
_AGENT_SCHEMA: dict[str, tuple[type, ...]] = {"name": (str,), "version": (str, type(None)), "config": (dict,)}
_SEEDS_SCHEMA: dict[str, tuple[type, ...]] = {"train": (int, type(None)), "eval": (int,)}
_WALL_SCHEMA: dict[str, tuple[type, ...]] = {"evaluate": (int, float), "train": (int, float, type(None))}
_PROVENANCE_SCHEMA: dict[str, tuple[type, ...]] = {
    "python": (str,),
    "platform": (str,),
    "numpy": (str,),
    "gymnasium": (str,),
    "torch": (str, type(None)),
    "recsim_bench": (str,),
    "agent_module": (str, type(None)),
    "agent_commit": (str, type(None)),
    "created": (str,),
}
_CHECKSUM = re.compile(r"^[0-9a-f]{64}$")

#: Verification records (:func:`verification_record`): their format, file suffix, size limit and outcomes.
VERIFICATION_FORMAT = "recsim-bench/verification/1"
#: A rerun that is not exact passes as ``within_ci`` only if at most this share of its users (or one user) differ.
MAX_DIFFERING_SHARE = 0.1
#: The most bytes of checkpoint files that a verification record hashes (a checkpoint of the baselines is < 100 MiB).
MAX_DIGEST_BYTES = 2**32
VERIFICATION_SUFFIX = ".verification"
#: The maintainers' directory of verification records, beside the directory of results (``leaderboards/verified``).
VERIFIED_DIR = "verified"
MAX_RECORD_BYTES = 2**16
RERUN_OUTCOMES = ("exact", "within_ci", "mismatch")
#: Relative rounding slack of :func:`bound_errors` (a return is a float64 sum of at most a few hundred rewards).
RETURN_TOLERANCE = 1e-9
#: The most bytes :func:`read_result` reads (a v1 result is under 50 kB) and the deepest nesting it accepts.
MAX_RESULT_BYTES = 4 * 2**20
MAX_RESULT_DEPTH = 32
#: Agent names and versions: a letter or digit, then letters, digits and ``. _ + -``; nothing that Markdown,
#: CSV or a file name could read as markup.
SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,63}")
#: Devices a result may name: ``cpu``, ``cuda`` or ``cuda:N``, ``mps``.
DEVICE = re.compile(r"cpu|cuda(:\d+)?|mps")
#: A device as a user asks for it: one of :data:`DEVICE`, or ``auto`` (CUDA where there is one).
REQUESTED_DEVICE = re.compile(rf"auto|{DEVICE.pattern}")


def _top_schema(version: Any) -> dict[str, tuple[type, ...]]:
    """The top-level keys of a result of schema ``version`` (version 1 has no ``train_steps``)."""
    return {key: types for key, types in _SCHEMA.items() if key != "train_steps"} if version == 1 else _SCHEMA


def train_steps_of(result: Mapping[str, Any]) -> int | None | str:
    """The environment steps ``result``'s agent trained on: an int, ``None`` (no training seed: it does not learn),
    or ``"unknown"`` (a schema 1 file with a training seed)."""
    if result.get("schema_version") == 1:
        return None if result["seeds"]["train"] is None else "unknown"
    return result["train_steps"]


# ----------------------------------------------------------------------------- checksum
def canonical_json(value: Any) -> str:
    """The canonical JSON text of ``value``: sorted keys, no whitespace, UTF-8 characters kept, no NaN."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def checksum(result: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of the UTF-8 canonical JSON of ``result`` without its ``checksum`` key."""
    content = {key: value for key, value in result.items() if key != "checksum"}
    return hashlib.sha256(canonical_json(content).encode("utf-8")).hexdigest()


# ----------------------------------------------------------------------------- provenance
def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        module = sys.modules.get(package)
        return getattr(module, "__version__", None)


def git_commit(path: Path | str | None) -> str | None:
    """``git rev-parse HEAD`` of the repository holding ``path``, or ``None`` (no git, not a checkout, any failure)."""
    if path is None:
        return None
    directory = Path(path)
    directory = directory if directory.is_dir() else directory.parent
    try:
        done = subprocess.run(
            ["git", "-C", str(directory), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    commit = done.stdout.strip()
    return commit if done.returncode == 0 and re.fullmatch(r"[0-9a-f]{40,64}", commit) else None


def agent_source(policy: Any) -> tuple[str | None, str | None]:
    """``(module, file)`` of the code of ``policy``'s class (``(None, None)`` when unknown)."""
    cls = policy if isinstance(policy, type) else type(policy)
    module = getattr(cls, "__module__", None)
    try:
        file = inspect.getsourcefile(cls)
    except (TypeError, OSError):
        file = None
    return module, file


def provenance(policy: Any = None) -> dict[str, Any]:
    """Package versions, platform, the agent's module and the git commit of its code (when in a checkout)."""
    import recsim_bench

    module, file = agent_source(policy) if policy is not None else (None, None)
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "numpy": np.__version__,
        "gymnasium": gym.__version__,
        "torch": _version("torch") if "torch" in sys.modules or importlib.util.find_spec("torch") else None,
        "recsim_bench": recsim_bench.__version__,
        "agent_module": module,
        "agent_commit": git_commit(file),
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }


def registered_spec(env_id: str) -> dict[str, Any]:
    """The registered environment spec of ``env_id`` as JSON data (``gym.spec(env_id).to_json()`` parsed)."""
    return json.loads(gym.spec(env_id).to_json())


# ----------------------------------------------------------------------------- building and writing
def _json_data(value: Any, what: str) -> Any:
    """``value`` as plain JSON data (tuples become lists); anything else raises ``ValueError``."""
    try:
        return json.loads(json.dumps(value, allow_nan=False))
    except (TypeError, ValueError) as error:
        raise ValueError(f"{what} must be JSON-serialisable with finite numbers: {error}") from None


def _config_of(policy: Any) -> dict[str, Any]:
    config = getattr(policy, "config", None)
    if dataclasses.is_dataclass(config) and not isinstance(config, type):
        return dataclasses.asdict(config)
    if isinstance(config, Mapping):
        return dict(config)
    return {}


def make_result(
    agent_name: str,
    env_id: str,
    protocol: Protocol | str,
    returns: Any,
    session_returns: Any = None,
    *,
    agent_version: str | None = None,
    config: Mapping[str, Any] | None = None,
    train_seed: int | None = None,
    train_steps: int | None = None,
    wall_time: float = 0.0,
    train_wall_time: float | None = None,
    device: str = "cpu",
    policy: Any = None,
) -> dict[str, Any]:
    """A checksummed result of ``agent_name`` on ``env_id`` under ``protocol``.

    ``returns`` is ``(episodes,)`` (with sessions: each user's mean session return) and
    ``session_returns`` ``(episodes, sessions)`` for a protocol entry with sessions. ``train_steps``
    is the number of environment steps the agent trained on: required with a ``train_seed``, ``None``
    without one (an agent that does not learn). ``policy`` (the evaluated object) gives the
    provenance's agent module and git commit.
    """
    _check_training(train_seed, train_steps)
    _check_metadata(agent_name, agent_version, device, wall_time, train_wall_time)
    protocol = load_protocol(protocol)
    entry = protocol.env(env_id)
    returns = np.asarray(returns, dtype=np.float64)
    result: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "agent": {"name": str(agent_name), "version": agent_version, "config": _json_data(dict(config or {}), "config")},
        "env_id": env_id,
        "env_spec": registered_spec(env_id),
        "protocol": protocol.version,
        "split": entry.split,
        "seeds": {"train": None if train_seed is None else int(train_seed), "eval": entry.eval_seed},
        "train_steps": None if train_steps is None else int(train_steps),
        "episodes": int(returns.shape[0]),
        "sessions": entry.sessions,
        "returns": [float(r) for r in returns],
        "session_returns": None if session_returns is None else [[float(r) for r in row] for row in np.asarray(session_returns, dtype=np.float64)],
        "wall_time": {"evaluate": float(wall_time), "train": None if train_wall_time is None else float(train_wall_time)},
        "device": str(device),
        "provenance": provenance(policy),
    }
    result = _json_data(result, "result")
    result["checksum"] = checksum(result)
    return result


def _check_training(train_seed: Any, train_steps: Any) -> None:
    """``train_steps`` must be an integer >= 0 with a training seed and ``None`` without one."""
    if train_seed is None:
        if train_steps is not None:
            raise ValueError(f"train_steps must be None without a train_seed (an agent that does not learn), got {train_steps!r}")
    elif not is_integer(train_steps) or train_steps < 0:
        raise ValueError(f"train_steps: with a train_seed, give the environment steps the agent trained on (an integer >= 0), got {train_steps!r}")


def _check_metadata(agent_name: Any, agent_version: Any, device: Any, wall_time: Any, train_wall_time: Any) -> None:
    """Refuse what :func:`result_errors` would refuse in a result's names, device and wall times."""
    if not isinstance(agent_name, str) or not SAFE_NAME.fullmatch(agent_name):
        raise ValueError(f"agent_name must match {SAFE_NAME.pattern} (a letter or digit, then letters, digits, . _ + -), got {agent_name!r}")
    if agent_version is not None and (not isinstance(agent_version, str) or not SAFE_NAME.fullmatch(agent_version)):
        raise ValueError(f"agent_version must be None or match {SAFE_NAME.pattern}, got {agent_version!r}")
    if not isinstance(device, str) or not DEVICE.fullmatch(device):
        raise ValueError(f"device must be cpu, cuda, cuda:N or mps, got {device!r}")
    for name, seconds in (("wall_time", wall_time), ("train_wall_time", train_wall_time)):
        if seconds is not None and not (_is_number(seconds) and seconds >= 0):
            raise ValueError(f"{name} must be a finite number of seconds >= 0, got {seconds!r}")


def write_result(path: Path | str, result: Mapping[str, Any]) -> Path:
    """Write ``result`` to ``path`` atomically (temporary file, fsync, ``os.replace``); returns the path.

    The result is serialised first, so an unserialisable one raises ``ValueError`` and leaves any
    old file at ``path`` untouched, and no temporary file behind.
    """
    path = Path(path)
    try:
        write_json_atomic(path, dict(result))
    except TypeError as error:
        raise ValueError(f"{path}: result is not JSON-serialisable: {error}") from None
    return path


def read_result(path: Path | str) -> Any:
    """The parsed JSON of a result file, read as untrusted input (:func:`~recsim_bench.files.read_json_strict`).

    At most :data:`MAX_RESULT_BYTES` bytes of a regular file; duplicate keys, ``NaN``, numbers beyond
    float64 or int64 and nesting deeper than :data:`MAX_RESULT_DEPTH` are refused. Anything wrong
    raises ``ValueError``.
    """
    try:
        return read_json_strict(path, MAX_RESULT_BYTES, MAX_RESULT_DEPTH)
    except ValueError as error:
        raise ValueError(f"not a readable result file: {error}") from None


def result_filename(result: Mapping[str, Any]) -> str:
    """``<agent>__<Env-vN>__<protocol>__seed<S>.json`` (``seed-none`` for an untrained agent), safe characters only.

    The protocol is in the name so that, e.g., ``v1`` and ``v1-quick`` results in one directory never
    overwrite each other. A result without a ``protocol`` key gets the name files had before schema 2,
    ``<agent>__<Env-vN>__seed<S>.json`` (the runner still recognises finished jobs by it).
    """
    agent = _file_agent(result)
    env = str(result["env_id"]).split("/")[-1]
    protocol = f"__{_safe_name(result['protocol'])}" if result.get("protocol") is not None else ""
    seed = result["seeds"]["train"]
    return f"{agent}__{env}{protocol}__seed{'-none' if seed is None else seed}.json"


def _file_agent(result: Mapping[str, Any]) -> str:
    """The agent's name as it appears in file and directory names."""
    return _safe_name(result["agent"]["name"]) or "agent"


def _safe_name(text: Any) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", str(text))


# ----------------------------------------------------------------------------- validation
def _check_fields(value: Any, schema: dict[str, tuple[type, ...]], where: str) -> list[str]:
    """Missing, unexpected and mistyped keys of the object ``value`` (``where``: its key in the result, ``""`` at the top)."""
    inside = f"{where}: " if where else ""
    if not isinstance(value, dict):
        return [f"schema: {where or 'the result'} must be an object"]
    reasons = [f"schema: {inside}missing key {key!r}" for key in schema if key not in value]
    reasons += [f"schema: {inside}unexpected key {key!r}" for key in value if key not in schema]
    for key, types in schema.items():
        if key in value:
            item = value[key]
            if (isinstance(item, bool) and bool not in types) or not isinstance(item, types):
                names = " or ".join("null" if t is type(None) else t.__name__ for t in types)
                reasons.append(f"schema: {where + '.' if where else ''}{key} must be {names}, got {type(item).__name__}")
    return reasons


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def schema_errors(result: Any) -> list[str]:
    """Everything wrong with the layout of ``result`` (keys, types, shapes), as ``"schema: ..."`` reasons."""
    if not isinstance(result, dict):
        return ["schema: the result must be an object"]
    version = result.get("schema_version")
    reasons = _check_fields(result, _top_schema(version), "")
    if is_integer(version) and version not in READABLE_SCHEMA_VERSIONS:
        reasons.append(f"schema: schema_version {version} is not one of {list(READABLE_SCHEMA_VERSIONS)}")
    steps = result.get("train_steps")
    if is_integer(steps) and steps < 0:
        reasons.append(f"schema: train_steps must be null or an integer >= 0, got {steps}")
    for key, schema in (("agent", _AGENT_SCHEMA), ("seeds", _SEEDS_SCHEMA), ("wall_time", _WALL_SCHEMA), ("provenance", _PROVENANCE_SCHEMA)):
        if isinstance(result.get(key), dict):
            reasons += _check_fields(result[key], schema, key)
    if isinstance(result.get("returns"), list):
        if not all(_is_number(r) for r in result["returns"]):
            reasons.append("schema: returns must be a list of finite numbers")
        elif isinstance(result.get("episodes"), int) and len(result["returns"]) != result["episodes"]:
            reasons.append(f"schema: returns has {len(result['returns'])} entries, episodes says {result['episodes']}")
    rows = result.get("session_returns")
    sessions = result.get("sessions")
    if "sessions" in result and "session_returns" in result and (rows is None) != (sessions is None):
        reasons.append("schema: session_returns and sessions must be both null or both set")
    if isinstance(rows, list) and isinstance(sessions, int):
        if not all(isinstance(row, list) and len(row) == sessions and all(_is_number(r) for r in row) for row in rows):
            reasons.append(f"schema: session_returns must be a list of lists of {sessions} finite numbers")
        elif isinstance(result.get("returns"), list) and len(rows) != len(result["returns"]):
            reasons.append(f"schema: session_returns has {len(rows)} rows, returns has {len(result['returns'])}")
        elif isinstance(result.get("returns"), list) and all(_is_number(r) for r in result["returns"]):
            means = np.asarray(rows, dtype=np.float64).mean(axis=1) if rows else np.zeros(0)
            if not np.array_equal(means, np.asarray(result["returns"], dtype=np.float64)):
                reasons.append("schema: returns must be each user's mean session return (mean of its session_returns row)")
    if isinstance(result.get("checksum"), str) and not _CHECKSUM.match(result["checksum"]):
        reasons.append("schema: checksum must be 64 lowercase hex digits (SHA-256)")
    return reasons


def metadata_errors(result: dict[str, Any]) -> list[str]:
    """What is not well formed in the names, wall times, device and creation time of a result whose schema is valid."""
    reasons = []
    name, version = result["agent"]["name"], result["agent"]["version"]
    if not SAFE_NAME.fullmatch(name):
        reasons.append(f"metadata: agent name {name[:80]!r} must match {SAFE_NAME.pattern}")
    if version is not None and not SAFE_NAME.fullmatch(version):
        reasons.append(f"metadata: agent version {version[:80]!r} must be null or match {SAFE_NAME.pattern}")
    for key, seconds in result["wall_time"].items():
        if seconds is not None and not (_is_number(seconds) and seconds >= 0):
            reasons.append(f"metadata: wall_time.{key} must be a finite number of seconds >= 0, got {seconds!r}")
    if not DEVICE.fullmatch(result["device"]):
        reasons.append(f"metadata: device {result['device'][:80]!r} is not one of cpu, cuda, cuda:N, mps")
    created = result["provenance"]["created"]
    try:
        stamp = datetime.datetime.fromisoformat(created)
    except ValueError:
        stamp = None
    if stamp is None or stamp.utcoffset() is None:
        reasons.append(f"metadata: provenance.created {created[:80]!r} is not an ISO 8601 time with a UTC offset")
    return reasons


def result_errors(result: Any, protocol: Protocol | str | None = None) -> list[str]:
    """Why ``result`` is not a valid result under ``protocol`` (default: the version it names); ``[]`` when valid.

    Checks, in order: the schema (version 1 or 2); the checksum and the metadata
    (:func:`metadata_errors`); the protocol version (known, and the one asked for); the environment
    (covered by the protocol, spec equal to the registered one); the split, evaluation seed, training
    seed, training steps (at most the budget; unknown in a version 1 file), episode and session
    counts against the protocol; the returns against the environment's bounds.
    """
    reasons = schema_errors(result)
    if not isinstance(result, dict):
        return reasons
    if isinstance(result.get("checksum"), str):
        try:
            actual = checksum(result)
        except (TypeError, ValueError) as error:
            reasons.append(f"checksum: content is not canonical JSON ({error})")
        else:
            if actual != result["checksum"]:
                reasons.append(f"checksum mismatch: the file says {result['checksum'][:12]}..., the content hashes to {actual[:12]}...")
    if reasons:
        return reasons
    reasons = metadata_errors(result)

    version = result["protocol"]
    try:  # an unknown version raises, naming the known ones
        protocol = load_protocol(version if protocol is None else protocol)
    except ValueError as error:
        return reasons + [f"protocol: {error}"]
    if version != protocol.version:
        known = "" if version in known_versions() else " (unknown version)"
        return reasons + [f"protocol: result is for protocol {version!r}{known}, validation is under {protocol.version!r}"]
    env_id = result["env_id"]
    if env_id not in protocol.envs:
        return reasons + [f"env: {env_id!r} is not an environment of protocol {protocol.version}"]
    if env_id not in gym.registry:
        return reasons + [f"env: {env_id!r} is not registered (import recsim_bench)"]
    expected = registered_spec(env_id)
    if result["env_spec"] != expected:
        differing = sorted(k for k in set(expected) | set(result["env_spec"]) if expected.get(k) != result["env_spec"].get(k))
        reasons.append(f"env spec differs from the registered {env_id} in {differing}")
    entry = protocol.env(env_id)
    if result["split"] != entry.split:
        reasons.append(f"protocol: split is {result['split']!r}, protocol {protocol.version} says {entry.split!r}")
    if result["seeds"]["eval"] != entry.eval_seed:
        reasons.append(f"protocol: evaluation seed is {result['seeds']['eval']}, protocol {protocol.version} says {entry.eval_seed}")
    train = result["seeds"]["train"]
    if train is not None and train not in entry.train_seeds:
        reasons.append(f"protocol: training seed {train} is not one of protocol {protocol.version}'s {list(entry.train_seeds)}")
    steps = train_steps_of(result)
    if train is None and steps not in (None, "unknown"):
        reasons.append(f"protocol: train_steps is {steps} but the training seed is null (an agent that does not learn trains on no steps)")
    elif train is not None and steps is None:
        reasons.append("protocol: train_steps is null but there is a training seed: the training budget used cannot be checked")
    elif isinstance(steps, int) and steps > entry.train_steps:
        reasons.append(f"protocol: trained on {steps:,} steps, protocol {protocol.version} allows at most {entry.train_steps:,}")
    if result["episodes"] != entry.episodes:
        reasons.append(f"protocol: {result['episodes']} episodes, protocol {protocol.version} says {entry.episodes}")
    if result["sessions"] != entry.sessions:
        reasons.append(f"protocol: sessions is {result['sessions']}, protocol {protocol.version} says {entry.sessions}")
    return reasons + bound_errors(result)


@functools.lru_cache(maxsize=None)
def return_bounds(env_id: str) -> tuple[float, float]:
    """The smallest and largest episode return of the registered ``env_id`` (its simulator's ``return_bounds``)."""
    env = gym.make(env_id)
    try:
        return env.unwrapped.sim.return_bounds
    finally:
        env.close()


def bound_errors(result: Mapping[str, Any]) -> list[str]:
    """Returns (and session returns) of ``result`` outside :func:`return_bounds` of its environment.

    A return is a sum of at most ``max_steps`` rewards, so it may pass a bound by rounding: by at most
    :data:`RETURN_TOLERANCE` times the larger bound's size.
    """
    low, high = return_bounds(result["env_id"])
    slack = RETURN_TOLERANCE * max(abs(low), abs(high), 1.0)
    reasons = []
    for what, values in (("returns", result["returns"]), ("session returns", result["session_returns"])):
        array = np.asarray(values if values is not None else [], dtype=np.float64)
        outside = np.argwhere((array < low - slack) | (array > high + slack))
        if len(outside):
            first = tuple(int(i) for i in outside[0])
            reasons.append(
                f"returns: {len(outside)} of {array.size} {what} lie outside [{low:g}, {high:g}], the bounds of an episode "
                f"of {result['env_id']} (first at {first[0] if len(first) == 1 else first}: {float(array[first])!r})"
            )
    return reasons


def _labelled(results: Mapping[str, Any] | Iterable[Any]) -> list[tuple[str, Any]]:
    if isinstance(results, Mapping):
        return [(str(label), result) for label, result in results.items()]
    return [(f"result {i}", result) for i, result in enumerate(results)]


def validate_submission(results: Mapping[str, Any] | Iterable[Any], protocol: Protocol | str = DEFAULT_VERSION) -> list[str]:
    """Why ``results`` (a list, or label -> result) is not a complete submission under ``protocol``; ``[]`` when it is.

    Each result is checked by :func:`result_errors` (reasons prefixed by its label). Then, per
    agent (name and version): every environment of the protocol must be present, with one result
    per training seed of the protocol, or a single result with training seed ``null`` for an agent
    that does not train; duplicates are reported.
    """
    protocol = load_protocol(protocol)
    labelled = _labelled(results)
    reasons = []
    groups: dict[tuple[str, Any], dict[str, list[Any]]] = {}
    for label, result in labelled:
        reasons += [f"{label}: {reason}" for reason in result_errors(result, protocol)]
        try:
            key = (result["agent"]["name"], result["agent"]["version"])
            env_id, train = result["env_id"], result["seeds"]["train"]
        except (TypeError, KeyError):
            continue
        groups.setdefault(key, {}).setdefault(env_id, []).append(train)
    if not labelled:
        return ["submission: no result files"]
    for (name, version), envs in groups.items():
        agent = name if version is None else f"{name} {version}"
        for env_id in protocol.env_ids:
            seeds = envs.get(env_id)
            if seeds is None:
                reasons.append(f"submission {agent}: missing environment {env_id}")
                continue
            expected = list(protocol.env(env_id).train_seeds)
            duplicates = sorted({repr(s) for s in seeds if seeds.count(s) > 1})
            if duplicates:
                reasons.append(f"submission {agent}: {env_id} has duplicate results for training seed(s) {', '.join(duplicates)}")
            if None in seeds:
                if len(set(seeds)) > 1:
                    reasons.append(f"submission {agent}: {env_id} mixes results with and without a training seed")
                continue
            missing = [s for s in expected if s not in seeds]
            if missing:
                reasons.append(f"submission {agent}: {env_id} is missing training seed(s) {missing} (protocol {protocol.version}: {expected})")
    return reasons


# ----------------------------------------------------------------------------- evaluation
def _is_agent(value: Any) -> bool:
    """An agent instance (a class with ``act`` and ``reset`` is a factory, not an agent)."""
    return isinstance(value, Agent) and not isinstance(value, type)


def _agent_for(policy: Any, env_id: str, train_seed: int | None = None) -> Any:
    """The agent ``policy`` gives for ``env_id``: itself, ``policy(env_id)``, or :func:`load_policy` of a spec."""
    if isinstance(policy, str):
        agent = load_policy(policy, env_id=env_id, train_seed=train_seed)
    elif _is_agent(policy):
        agent = policy
    elif callable(policy):
        agent = policy(env_id)
    else:
        raise ValueError(f"policy must be an agent (act, reset), a callable env_id -> agent or a spec, got {type(policy).__name__}")
    if not _is_agent(agent):
        raise ValueError(f"policy gave a {type(agent).__name__} for {env_id}, not an agent with act and reset")
    return agent


def _device_of(policy: Any) -> str:
    device = getattr(policy, "device", None)
    return "cpu" if device is None else str(device)


def evaluate(
    policy: Any,
    protocol: Protocol | str = DEFAULT_VERSION,
    agent_name: str | None = None,
    env_ids: Iterable[str] | None = None,
    out_dir: Path | str | None = None,
    *,
    train_seed: int | None = None,
    agent_version: str | None = None,
    config: Mapping[str, Any] | None = None,
    device: str | None = None,
    num_envs: int | None = None,
    train_steps: int | None = None,
    train_wall_time: float | None = None,
) -> list[dict[str, Any]]:
    """Evaluate an already trained ``policy`` on every environment of ``protocol``; one result per environment.

    ``policy`` is an agent (any object with the agent protocol's ``act`` and ``reset``, used on
    every environment), a factory ``policy(env_id) -> agent`` (e.g. an agent class taking the
    env id), or a :func:`load_policy` spec. ``agent_name`` defaults to the
    agent's class name, ``config`` to its ``config`` attribute (a dataclass or a mapping), ``device``
    to its ``device`` attribute or ``"cpu"``. ``train_seed`` is the training seed the policy was
    trained with (``None`` for an agent that does not train), ``train_steps`` the environment steps
    it trained on (required with ``train_seed``) and ``train_wall_time`` the seconds its training took
    (recorded as is). For a checkpoint directory written by ``recsim-bench train``, both default to
    what its ``run.json`` recorded (:func:`training_record`). With ``out_dir``, each result is also
    written there atomically as :func:`result_filename`.
    """
    if not isinstance(policy, str):
        _check_training(train_seed, train_steps)
    protocol = load_protocol(protocol)
    chosen = protocol.env_ids if env_ids is None else [protocol.env(env_id).env_id for env_id in env_ids]
    out = None if out_dir is None else Path(out_dir)
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
    results = []
    for env_id in chosen:
        steps, seconds = train_steps, train_wall_time
        if isinstance(policy, str) and train_seed is not None and steps is None:
            steps, recorded = training_record(fill_placeholders(policy, env_id, train_seed), train_seed)
            seconds = recorded if seconds is None else seconds
        _check_training(train_seed, steps)
        agent = _agent_for(policy, env_id, train_seed)
        start = time.perf_counter()
        returns, per_session = evaluate_protocol_entry(agent, protocol.env(env_id), num_envs=num_envs)
        wall = time.perf_counter() - start
        result = make_result(
            agent_name or type(agent).__name__,
            env_id,
            protocol,
            returns,
            per_session,
            agent_version=agent_version,
            config=_config_of(agent) if config is None else config,
            train_seed=train_seed,
            train_steps=steps,
            wall_time=wall,
            train_wall_time=seconds,
            device=device or _device_of(agent),
            policy=agent,
        )
        if out is not None:
            write_result(out / result_filename(result), result)
        results.append(result)
    return results


def training_record(spec: str, train_seed: int) -> tuple[int | None, float | None]:
    """``(steps, seconds)`` of the training that ``recsim-bench train`` recorded in the checkpoint directory
    ``spec`` (its ``run.json``: ``summary.steps`` and ``summary.wall_time``); ``(None, None)`` without one.
    A record of another training seed raises ``ValueError``."""
    path = Path(spec) / "run.json"
    if not path.is_file():
        return None, None
    record = read_json_strict(path, MAX_RECORD_BYTES, MAX_RESULT_DEPTH)
    summary = record.get("summary") if isinstance(record, dict) else None
    if not isinstance(summary, dict):
        raise ValueError(f"{path}: no training summary (expected run.json as recsim-bench train writes it)")
    if record.get("seed") != train_seed:
        raise ValueError(f"{path}: trained with seed {record.get('seed')!r}, not train_seed {train_seed}")
    steps, seconds = summary.get("steps"), summary.get("wall_time")
    steps = steps if is_integer(steps) and steps >= 0 else None
    return steps, float(seconds) if _is_number(seconds) and seconds >= 0 else None


@dataclasses.dataclass(frozen=True)
class RerunOutcome:
    """How a re-evaluation compares with a result file."""

    reasons: list[str]  # why the numbers are not exactly the file's; [] when they are
    episodes: int  # episodes (users) re-evaluated
    differing: int  # of them, those whose return or a session return differs from the file's
    largest_difference: float  # the largest absolute difference of a return (or session return)
    mean: float | None  # the re-evaluation's mean return (None: it could not run)
    interval: tuple[float, float] | None  # 95% Student-t interval over users of the file's mean return
    difference_interval: tuple[float, float] | None = None  # 95% interval over users of (rerun - file) returns

    @property
    def within_ci(self) -> bool:
        """Whether the re-evaluation's mean lies inside the file's 95% interval, and is not merely hidden by it.

        The file's interval is the submitter's to widen, so the users are compared pairwise too (they are the
        same users): at most :data:`MAX_DIFFERING_SHARE` of them (or one) may differ, and the interval of the
        per-user differences must hold 0. A policy whose last bits differ on other hardware passes; a file
        whose returns were inflated and spread out to widen its interval does not.
        """
        if self.mean is None or self.interval is None or self.difference_interval is None:
            return False
        return (
            self.interval[0] <= self.mean <= self.interval[1]
            and self.differing <= max(1.0, MAX_DIFFERING_SHARE * self.episodes)
            and self.difference_interval[0] <= 0.0 <= self.difference_interval[1]
        )

    @property
    def outcome(self) -> str:
        """``"exact"``, ``"within_ci"`` (not exact, but its mean inside the file's interval) or ``"mismatch"``."""
        return "exact" if not self.reasons else "within_ci" if self.within_ci else "mismatch"

    def summary(self) -> str:
        """``N of M episodes differ; the rerun's mean X lies inside (outside) the file's 95% CI [a, b]``."""
        if self.mean is None:
            return "the rerun did not run"
        where = "no interval" if self.interval is None else f"[{self.interval[0]:.6g}, {self.interval[1]:.6g}]"
        inside = self.interval is not None and self.interval[0] <= self.mean <= self.interval[1]
        paired = "no interval" if self.difference_interval is None else f"[{self.difference_interval[0]:.3g}, {self.difference_interval[1]:.3g}]"
        return (
            f"{self.differing} of {self.episodes} episodes differ (largest difference {self.largest_difference:.3g}); "
            f"the rerun's mean {self.mean:.6g} lies {'inside' if inside else 'outside'} the file's 95% CI {where}; "
            f"rerun - file per user: 95% CI {paired}"
        )


def rerun_outcome(result: Mapping[str, Any], policy: Any, num_envs: int | None = None) -> RerunOutcome:
    """Re-evaluate ``policy`` as ``result`` says it was evaluated and compare the numbers with the file's.

    ``policy`` is an agent, a factory ``env_id -> agent``, or a spec for :func:`load_policy`.
    The protocol entry is the one of the result's protocol version, with the result's own
    episodes, evaluation seed and sessions (validation checks those against the protocol).
    """
    reasons, entry = schema_errors(result), None
    try:
        entry = None if reasons else load_protocol(result["protocol"]).env(result["env_id"])
    except ValueError as error:
        reasons = [str(error)]
    if entry is None:
        return RerunOutcome([f"rerun: {reason}" for reason in reasons], 0, 0, math.inf, None, None, None)
    entry = dataclasses.replace(entry, episodes=result["episodes"], eval_seed=result["seeds"]["eval"], sessions=result["sessions"], split=result["split"])
    agent = _agent_for(policy, entry.env_id, result["seeds"]["train"])
    returns, per_session = evaluate_protocol_entry(agent, entry, num_envs=num_envs)
    pairs = [("returns", np.asarray(result["returns"], dtype=np.float64), returns)]
    if per_session is not None:
        pairs.append(("session returns", np.asarray(result["session_returns"], dtype=np.float64), per_session))
    reasons = [reason for what, stored, fresh in pairs for reason in _compare(what, stored, fresh)]
    differs, largest = np.zeros(len(returns), dtype=bool), 0.0
    for _, stored, fresh in pairs:
        if stored.shape != fresh.shape:
            differs[:], largest = True, math.inf
            continue
        gap = np.abs(stored - fresh).reshape(len(fresh), -1)
        differs |= (gap > 0).any(axis=1)
        largest = max(largest, float(gap.max(initial=0.0)))
    stored = pairs[0][1]
    interval = tuple(mean_ci(stored)[1:]) if stored.size >= 2 else None
    paired = tuple(mean_ci(returns - stored)[1:]) if stored.size >= 2 and stored.shape == returns.shape else None
    return RerunOutcome(reasons, len(returns), int(differs.sum()), largest, float(np.mean(returns)), interval, paired)


def rerun(result: Mapping[str, Any], policy: Any, num_envs: int | None = None) -> list[str]:
    """Why re-evaluating ``policy`` does not give ``result``'s numbers exactly (:func:`rerun_outcome`); ``[]`` when it does."""
    return rerun_outcome(result, policy, num_envs).reasons


# ----------------------------------------------------------------------------- verification records
def default_verified_dir(result_path: Path | str) -> Path | None:
    """The maintainers' directory of verification records for the result file ``result_path``: :data:`VERIFIED_DIR`
    beside the nearest directory named ``results`` that holds the file (``leaderboards/results/ppo/x.json`` ->
    ``leaderboards/verified``); ``None`` when no directory above it is named ``results``."""
    for parent in Path(result_path).absolute().parents:
        if parent.name == "results":
            return parent.parent / VERIFIED_DIR
    return None


def verification_path(result_path: Path | str, result: Mapping[str, Any], verified_dir: Path | str | None = None) -> Path | None:
    """Where the verification record of ``result`` (read from ``result_path``) lives: ``<verified_dir>/<agent>/<name>.verification``,
    a mirror of ``results/<agent>/<name>.json``; ``verified_dir`` defaults to :func:`default_verified_dir`
    (``None`` when there is none). Records never lie among the submitted results, where a submitter could
    place one; not ``.json``: directories of results are read as their ``*.json`` files."""
    directory = default_verified_dir(result_path) if verified_dir is None else Path(verified_dir)
    if directory is None:
        return None
    return directory / _file_agent(result) / Path(result_path).with_suffix(VERIFICATION_SUFFIX).name


def policy_digest(spec: str, env_id: str | None = None) -> str | None:
    """SHA-256 of what the policy spec loads: a checkpoint directory's files (relative names and bytes, in name
    order); for the name of an agent that does not learn, the name, its class, its module's source and the
    configuration it gives itself for ``env_id``; or the source file of a ``module:callable``'s module;
    ``None`` when there is no such file."""
    path = Path(spec)
    digest = hashlib.sha256()
    if path.is_dir():
        budget = MAX_DIGEST_BYTES
        for file in sorted(p for p in path.rglob("*") if not p.is_dir()):
            if file.is_symlink() or not file.is_file():
                raise ValueError(f"policy {spec}: {file} is not a regular file (a link or a device); a checkpoint holds files only")
            budget -= file.stat().st_size
            if budget < 0:
                raise ValueError(f"policy {spec}: the checkpoint's files pass {MAX_DIGEST_BYTES:,} bytes")
            digest.update(file.relative_to(path).as_posix().encode("utf-8") + b"\0")
            with open(file, "rb") as f:
                digest.update(hashlib.file_digest(f, "sha256").digest())
        return digest.hexdigest()
    untrained = _untrained_reference_agent(spec)
    if untrained is not None:
        source = Path(inspect.getsourcefile(untrained))
        named = f"{spec}\0{untrained.__module__}:{untrained.__qualname__}\0{source.name}\0"
        digest.update(named.encode("utf-8") + hashlib.sha256(source.read_bytes()).digest())
        digest.update(json.dumps(default_config(untrained, env_id or ""), sort_keys=True).encode("utf-8"))
        return digest.hexdigest()
    try:
        found = importlib.util.find_spec(spec.partition(":")[0])
    except (ImportError, ValueError):
        return None
    if found is None or not found.origin or not Path(found.origin).is_file():
        return None
    return hashlib.sha256(Path(found.origin).read_bytes()).hexdigest()


def verification_record(result: Mapping[str, Any], result_path: Path | str, spec: str, outcome: RerunOutcome) -> dict[str, Any]:
    """The checksummed record of re-evaluating the policy ``spec`` against the result at ``result_path``."""
    loaded = fill_placeholders(spec, result["env_id"], result["seeds"]["train"])
    record: dict[str, Any] = {
        "format": VERIFICATION_FORMAT,
        "result_file": Path(result_path).name,
        "result_checksum": result["checksum"],
        "policy": spec,
        "policy_loaded": loaded,
        "policy_sha256": policy_digest(loaded, result["env_id"]),
        "outcome": outcome.outcome,
        "episodes": outcome.episodes,
        "episodes_differing": outcome.differing,
        "largest_difference": outcome.largest_difference if math.isfinite(outcome.largest_difference) else None,
        "rerun_mean": outcome.mean,
        "result_ci": None if outcome.interval is None else list(outcome.interval),
        "provenance": provenance(),
    }
    record = _json_data(record, "verification record")
    record["checksum"] = checksum(record)
    return record


def read_verification(result_path: Path | str, result: Mapping[str, Any], verified_dir: Path | str | None = None) -> str | None:
    """The outcome (``"exact"``, ``"within_ci"``, ``"mismatch"``) of the verification record of ``result`` in the
    maintainers' directory (:func:`verification_path`) when there is one for this very result (its checksum),
    intact; else ``None`` (not verified). A record anywhere else is not read."""
    path = verification_path(result_path, result, verified_dir)
    if path is None or not path.is_file():
        return None
    try:
        record = read_json_strict(path, MAX_RECORD_BYTES, MAX_RESULT_DEPTH)
    except ValueError:
        return None
    if (
        not isinstance(record, dict)
        or record.get("format") != VERIFICATION_FORMAT
        or record.get("checksum") != checksum(record)
        or record.get("result_checksum") != result.get("checksum")
        or record.get("outcome") not in RERUN_OUTCOMES
    ):
        return None
    return record["outcome"]


def _compare(what: str, stored: np.ndarray, fresh: np.ndarray) -> list[str]:
    if stored.shape != fresh.shape:
        return [f"rerun: {what} have shape {stored.shape} in the file, {fresh.shape} when re-evaluated"]
    differ = np.argwhere(stored != fresh)
    if len(differ) == 0:
        return []
    first = tuple(int(i) for i in differ[0])
    where = first[0] if len(first) == 1 else first
    return [
        f"rerun: {what} differ in {len(differ)} of {stored.size} entries "
        f"(first at {where}: file {float(stored[first])!r}, re-evaluated {float(fresh[first])!r})"
    ]


# ----------------------------------------------------------------------------- loading policies
def _checkpoint_agent_name(record: Any, directory: Path) -> str:
    """The agent name in a checkpoint's ``config.json``: its ``agent`` field, or ``format`` ``recsim-bench/<name>/N``."""
    if isinstance(record, dict):
        if isinstance(record.get("agent"), str):
            return record["agent"]
        match = re.fullmatch(r"recsim-bench/([\w.-]+)/\d+", str(record.get("format", "")))
        if match:
            return match.group(1)
    raise ValueError(f"{directory / 'config.json'}: names no agent (expected an 'agent' or 'format' field)")


def fill_placeholders(spec: str, env_id: str | None, train_seed: int | None) -> str:
    """``spec`` with ``{env}`` (e.g. ``ColdStart-v0``), ``{env_id}`` and ``{seed}`` filled in."""
    if "{" not in spec:
        return spec
    try:
        return spec.format(env=(env_id or "").split("/")[-1], env_id=env_id or "", seed=train_seed)
    except (KeyError, IndexError, ValueError) as error:
        raise ValueError(f"policy {spec!r}: bad placeholder ({error}); allowed: {{env}}, {{env_id}}, {{seed}}") from None


def _untrained_reference_agent(spec: str) -> type | None:
    """The class of the installed agent named ``spec`` (:func:`~recsim_bench.agents.agent_names`) if it acts from
    its config alone (random, oracle, linucb, thompson); ``None`` for any other spec."""
    if spec not in agent_names():
        return None
    cls = agent_class(spec)
    if learns(cls):
        raise ValueError(f"policy {spec!r} learns: give the checkpoint directory of its training instead of its name")
    return cls


def load_policy(spec: str, env_id: str | None = None, train_seed: int | None = None, device: str = "cpu") -> Any:
    """An agent from ``spec``: a checkpoint directory, ``module:callable``, or the name of an installed agent
    that does not learn (built by :func:`~recsim_bench.agents.make_agent` with its default configuration).

    - A directory written by an agent's ``save`` (``recsim-bench train``): its ``config.json``
      names the agent (``"agent"``, or ``"format": "recsim-bench/<name>/N"``), loaded with
      ``agent_class(name).load(directory, device)``.
    - ``module:callable``: imported, then called to build the agent, with ``env_id=...`` and
      ``train_seed=...`` for those of the two parameters its signature takes (agents are often
      built per environment, trained weights loaded per seed). An attribute that already is an
      agent (not a class) is used as is.

    The spec may hold ``{env}`` (e.g. ``ColdStart-v0``), ``{env_id}`` and ``{seed}`` placeholders,
    filled from ``env_id`` and ``train_seed`` (e.g. ``runs/{env}/seed{seed}``).
    """
    if not isinstance(spec, str) or not spec:
        raise ValueError(f"policy must be a checkpoint directory or 'module:callable', got {spec!r}")
    spec = fill_placeholders(spec, env_id, train_seed)
    path = Path(spec)
    if path.is_dir():
        try:
            record = read_json_strict(path / "config.json", MAX_CONFIG_BYTES, MAX_CONFIG_DEPTH)
        except ValueError as error:
            raise ValueError(f"{path}: not a checkpoint directory with a readable config.json ({error})") from None
        name = _checkpoint_agent_name(record, path)
        cls = agent_class(name)
        if not learns(cls):
            raise ValueError(f"{path}: agent {name!r} does not learn, so it has no checkpoint to load")
        return cls.load(str(path), device=device)
    module_name, sep, attribute = spec.partition(":")
    untrained = _untrained_reference_agent(spec)
    if untrained is not None:
        return make_agent(spec, env_id)
    if not sep or not module_name or not attribute:
        raise ValueError(f"policy {spec!r} is neither a directory, 'module:callable' nor a reference agent that does not learn")
    try:
        target: Any = importlib.import_module(module_name)
    except ImportError as error:
        raise ValueError(f"policy {spec!r}: cannot import {module_name!r} ({error})") from None
    for part in attribute.split("."):
        if not hasattr(target, part):
            raise ValueError(f"policy {spec!r}: {module_name!r} has no attribute {attribute!r}")
        target = getattr(target, part)
    if _is_agent(target):
        return target
    if not callable(target):
        raise ValueError(f"policy {spec!r}: {attribute!r} is neither callable nor an agent")
    try:
        parameters = inspect.signature(target).parameters
    except (TypeError, ValueError):
        parameters = {}
    given = {"env_id": env_id, "train_seed": train_seed}
    agent = target(**{name: value for name, value in given.items() if name in parameters and value is not None})
    if not _is_agent(agent):
        raise ValueError(f"policy {spec!r} built a {type(agent).__name__}, not an agent with act and reset")
    return agent


# ----------------------------------------------------------------------------- command
def result_files(paths: Iterable[str]) -> list[Path]:
    """The files named by ``paths``: a file as is, a directory as its ``*.json`` files (recursively, sorted)."""
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        files += sorted(p for p in path.rglob("*.json") if p.is_file()) if path.is_dir() else [path]
    return files


def _rerun_and_record(path: Path, result: Mapping[str, Any], rerun: str, verified: str | None) -> tuple[list[str], str]:
    """Re-evaluate the policy ``rerun`` against ``result`` and write its verification record (:func:`verification_path`):
    the reasons the file fails, and the note of its ``OK`` line."""
    record_path = verification_path(path, result, verified)
    if record_path is None:
        return ["no directory above it is named 'results', so its verification record has no default place: give --verified DIR"], ""
    outcome = rerun_outcome(result, rerun)
    record_path.parent.mkdir(parents=True, exist_ok=True)
    write_json_atomic(record_path, verification_record(result, path, rerun, outcome))
    if outcome.outcome == "mismatch":
        return [*outcome.reasons, outcome.summary()], ""
    if outcome.outcome == "within_ci":
        return [], f" (rerun not exact: {outcome.summary()}; recorded as within the interval in {record_path})"
    return [], f" (rerun matches exactly; recorded in {record_path})"


def untrusted_records(paths: Iterable[str], verified_dir: Path | str | None = None) -> list[Path]:
    """The verification records among submitted results: every ``*.verification`` file under the directories of
    ``paths`` except those in the maintainers' directory (``verified_dir``, by default each result file's
    :func:`default_verified_dir`). None of them counts: a submitter could have written it."""
    paths = list(paths)
    if verified_dir is not None:
        trusted = {Path(verified_dir).absolute()}
    else:
        trusted = {directory for directory in map(default_verified_dir, result_files(paths)) if directory is not None}
    found = (p for raw in paths if Path(raw).is_dir() for p in sorted(Path(raw).rglob(f"*{VERIFICATION_SUFFIX}")))
    return [p for p in found if not any(p.absolute().is_relative_to(directory) for directory in trusted)]


def validate_main(
    paths: list[str], rerun: str | None = None, protocol: Protocol | str | None = None, partial: bool = False, verified: str | None = None
) -> int:
    """``recsim-bench validate PATH... [--rerun POLICY [--verified DIR]] [--protocol V] [--partial]``; returns the exit status.

    ``PATH`` is a result file or a directory (its ``*.json`` files, recursively). Prints one line
    per file, ``OK path`` or ``FAIL path: reason; reason``, then, unless ``partial``, one line per
    gap in the submission (per agent: a missing environment or training seed). With
    ``rerun`` (a policy spec: a checkpoint directory or ``module:callable``, placeholders ``{env}``,
    ``{seed}`` allowed) each valid file is re-evaluated (:func:`rerun_outcome`): it passes when the
    numbers match exactly, or, not exactly (a torch agent on another machine may differ in the last
    bits), when the rerun's mean lies inside the file's 95% interval; the line says how many episodes
    differ. Either way the outcome is written as a verification record (:func:`verification_record`)
    into the maintainers' directory ``verified`` (default: :func:`default_verified_dir`, e.g.
    ``leaderboards/verified/<agent>/<name>.verification``), which the leaderboard reads. A
    ``.verification`` file among the submitted results (:func:`untrusted_records`) is a FAIL line.
    Returns 0 when everything passes, 1 otherwise.
    """
    failed = False
    for path in untrusted_records(paths, verified):
        print(f"FAIL {path}: verification records are written by maintainers; remove it (validate --rerun writes them into the verified directory)")
        failed = True
    files = result_files(paths)
    if not files:
        print("FAIL: no result files given")
        return 1
    loaded: dict[str, Any] = {}
    for path in files:
        try:
            result = read_result(path)
        except ValueError as error:
            print(f"FAIL {path}: {error}")
            failed = True
            continue
        loaded[str(path)] = result
        note = ""
        try:
            reasons = result_errors(result, protocol)
            if not reasons and rerun is not None:
                reasons, note = _rerun_and_record(path, result, rerun, verified)
        except Exception as error:  # a broken policy or checkpoint is a failure of this file, not a crash
            reasons = [f"{type(error).__name__}: {error}"]
        if reasons:
            failed = True
            print(f"FAIL {path}: " + "; ".join(reasons))
        else:
            print(f"OK   {path}{note}")
    if not partial and loaded:
        versions = {r.get("protocol") for r in loaded.values() if isinstance(r, dict)}
        version = protocol or (versions.pop() if len(versions) == 1 else DEFAULT_VERSION)
        try:
            gaps = [r for r in validate_submission(loaded, version) if r.startswith("submission")]
        except ValueError as error:
            gaps = [f"submission: {error}"]
        for gap in gaps:
            print(f"FAIL {gap}")
        failed |= bool(gaps)
    return 1 if failed else 0


__all__ = [
    "READABLE_SCHEMA_VERSIONS",
    "SCHEMA_VERSION",
    "bound_errors",
    "canonical_json",
    "checksum",
    "evaluate",
    "git_commit",
    "load_policy",
    "make_result",
    "metadata_errors",
    "provenance",
    "read_result",
    "registered_spec",
    "RERUN_OUTCOMES",
    "RerunOutcome",
    "fill_placeholders",
    "policy_digest",
    "read_verification",
    "default_verified_dir",
    "rerun",
    "rerun_outcome",
    "result_filename",
    "return_bounds",
    "schema_errors",
    "train_steps_of",
    "untrusted_records",
    "training_record",
    "validate_main",
    "result_errors",
    "validate_submission",
    "verification_path",
    "verification_record",
    "write_result",
]
