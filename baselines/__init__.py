"""Reference agents for recsim-bench (they depend on ``recsim_bench``, never the other way round).

Every agent class follows :mod:`recsim_bench.agents`' protocol and one construction
convention: a class attribute ``Config`` (a dataclass of hyperparameters, each field
documented) and ``__init__(self, env_id, config=None, **kwargs)``. The core finds them by
name through the ``recsim_bench.agents`` entry points that ``setup.py`` declares, and
builds them with :func:`recsim_bench.agents.make_agent`. Hyperparameters come from
``baselines/configs/<name>.toml`` (see ``baselines/configs/README.md``) through
:class:`TomlConfigured`: ``[default]``, then the environment's own section, then the
caller's overrides.
"""

from __future__ import annotations

import math
import re
import tomllib
from pathlib import Path
from typing import Any, ClassVar

import gymnasium as gym

from recsim_bench.agents import build_config
from recsim_bench.checks import is_integer
from recsim_bench.envs import NAMESPACE
from recsim_bench.files import MAX_CONFIG_BYTES, MAX_CONFIG_DEPTH, read_json_strict

CONFIG_DIR = Path(__file__).resolve().parent / "configs"

_ENV_SECTION = re.compile(r"^[\w.-]+/[\w.-]+-v\d+$")

#: The largest integer (in size) a checkpoint's env_kwargs may hold: a number of candidates, features or steps.
MAX_ENV_INTEGER = 100_000


def load_config(name: str, env_id: str, path: Path | str | None = None) -> dict[str, Any]:
    """Hyperparameters of agent ``name`` for ``env_id``: the file's ``[default]`` table, then its ``["<env_id>"]`` table.

    ``path`` defaults to ``baselines/configs/<name>.toml``. Tables other than ``default`` must
    be environment ids (``"Namespace/Name-vN"``); values must be scalars or lists.
    """
    file = CONFIG_DIR / f"{name}.toml" if path is None else Path(path)
    try:
        with open(file, "rb") as f:
            tables = tomllib.load(f)
    except FileNotFoundError:
        raise ValueError(f"no config file for agent {name!r}: expected {file}") from None
    except tomllib.TOMLDecodeError as error:
        raise ValueError(f"{file}: invalid TOML: {error}") from None
    for section, table in tables.items():
        if section != "default" and not _ENV_SECTION.match(section):
            raise ValueError(f"{file}: table [{section}] must be [default] or an env id like [\"RecSimBench/Name-v0\"]")
        if not isinstance(table, dict):
            raise ValueError(f"{file}: {section!r} must be a table of hyperparameters, got {table!r}")
    return {**tables.get("default", {}), **tables.get(env_id, {})}


def check_steps(steps: Any, at_least: int = 1, why: str = "") -> int:
    """``steps`` (a training budget) as an int; anything but an integer >= ``at_least`` raises ``ValueError``,
    before training writes anything. ``why`` explains a lower bound above 1."""
    if not is_integer(steps) or steps < at_least:
        raise ValueError(f"steps must be an integer >= {at_least}{why}, got {steps!r}")
    return int(steps)


def read_config(directory: Path, owner: str, agent: str | None) -> dict[str, Any]:
    """The JSON object of a checkpoint's ``directory/config.json`` (at most :data:`MAX_CONFIG_BYTES`) whose ``agent``
    field is ``agent`` (``None``: any); anything else raises ``ValueError`` naming ``owner`` and the file."""
    path = directory / "config.json"
    try:
        record = read_json_strict(path, MAX_CONFIG_BYTES, MAX_CONFIG_DEPTH)
    except ValueError as error:
        raise ValueError(f"{owner}: {path}: {error}") from None
    if not isinstance(record, dict) or agent is not None and record.get("agent") != agent:
        found = record.get("agent") if isinstance(record, dict) else None
        raise ValueError(f"{owner}: {path} is not a checkpoint of agent {agent!r} (it names agent {found!r})")
    return record


def checked_env(record: dict[str, Any], owner: str, path: Path) -> tuple[str, dict[str, Any]]:
    """``record``'s ``env_id`` and ``env_kwargs``, checked before anything makes the env: the id must be a registered
    ``RecSimBench/`` id (``gym.make`` imports the module an id names), the kwargs an object whose numbers are
    finite and whose integers are at most :data:`MAX_ENV_INTEGER` in size."""
    env_id, env_kwargs = record.get("env_id"), record.get("env_kwargs", {})
    allowed = sorted(name for name in gym.registry if name.startswith(f"{NAMESPACE}/"))
    if not isinstance(env_id, str) or env_id not in allowed:
        raise ValueError(f"{owner}: {path} env_id must be a registered {NAMESPACE}/ id, got {env_id!r}; allowed: {', '.join(allowed)}")
    if not isinstance(env_kwargs, dict):
        raise ValueError(f"{owner}: {path} env_kwargs must be an object, got {env_kwargs!r}")
    stack: list[Any] = [env_kwargs]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
        elif isinstance(value, bool) or value is None or isinstance(value, str):
            continue
        elif isinstance(value, int) and abs(value) > MAX_ENV_INTEGER or isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"{owner}: {path} env_kwargs hold {value!r}; numbers must be finite, integers at most {MAX_ENV_INTEGER:,}")
    return env_id, env_kwargs


class TomlConfigured:
    """Mixin of an agent whose hyperparameters live in ``baselines/configs/<config_file>.toml``."""

    config_file: ClassVar[str]

    @classmethod
    def default_config(cls, env_id: str) -> dict[str, Any]:
        """The file's ``[default]`` table, then its ``["<env_id>"]`` table (:func:`load_config`)."""
        return load_config(cls.config_file, env_id)


__all__ = [
    "CONFIG_DIR",
    "MAX_ENV_INTEGER",
    "TomlConfigured",
    "build_config",
    "check_steps",
    "checked_env",
    "load_config",
    "read_config",
]
