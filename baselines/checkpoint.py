"""Weights and resume files of the torch agents: written as bytes for an atomic write, read without unpickling, checked entry by entry."""

from __future__ import annotations

import dataclasses
import io
import math
import zipfile
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from recsim_bench import rng
from recsim_bench.simulator import SimState, Simulator

#: Limits on what a checkpoint may ask for (a weights or resume file is some MB).
MAX_ARCHIVE_BYTES = 1 << 32  # the members of a torch archive, by their declared (uncompressed) sizes
MAX_PARAMETERS = 50_000_000  # of a network described by a checkpoint's config


def check_network_size(build: Callable[[], torch.nn.Module], owner: str, path: Path) -> None:
    """Refuse a network of more than :data:`MAX_PARAMETERS` parameters, counted by building it without memory."""
    with torch.device("meta"):
        count = sum(parameter.numel() for parameter in build().parameters())
    if count > MAX_PARAMETERS:
        raise ValueError(f"{owner}: {path} describes a network of {count:,} parameters; at most {MAX_PARAMETERS:,}")


def torch_bytes(value: Any) -> bytes:
    """``torch.save`` of ``value`` into bytes (for :func:`recsim_bench.files.write_bytes_atomic`)."""
    buffer = io.BytesIO()
    torch.save(value, buffer)
    return buffer.getvalue()


def load_state_dict(path: Path, owner: str) -> dict[str, torch.Tensor]:
    """A state dict (names -> tensors, on the CPU) from ``path``, loaded with ``weights_only=True``.

    A missing, foreign, oversized (:data:`MAX_ARCHIVE_BYTES`) or tampered file, or non-finite floats, raise
    ``ValueError`` naming ``owner`` (e.g. ``"PPOAgent.load"``) and ``path``.
    """
    if not zipfile.is_zipfile(path):
        raise ValueError(f"{owner}: {path} is not a torch.save archive (missing or not a zip file)")
    with zipfile.ZipFile(path) as archive:
        declared = sum(member.file_size for member in archive.infolist())
    if declared > MAX_ARCHIVE_BYTES:
        raise ValueError(f"{owner}: {path} declares {declared:,} bytes; at most {MAX_ARCHIVE_BYTES:,}")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # noqa: BLE001 (torch raises many kinds on a foreign file)
        raise ValueError(f"{owner}: {path} could not be read as a state dict of tensors (torch.load with weights_only=True: {type(error).__name__})") from None
    if not isinstance(state, dict) or not all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state.items()):
        raise ValueError(f"{owner}: {path} does not hold a state dict (names -> tensors)")
    for name, value in state.items():
        if value.is_floating_point() and not bool(torch.isfinite(value).all()):
            raise ValueError(f"{owner}: {path} entry {name!r} holds non-finite values")
    return state


def check_like(
    state: dict[str, torch.Tensor], reference: dict[str, torch.Tensor], owner: str, path: Path, optional: frozenset[str] = frozenset()
) -> None:
    """Refuse ``state`` (from :func:`load_state_dict` of ``path``) unless it has ``reference``'s names (those in
    ``optional`` may be missing), each with the reference's shape and dtype."""
    unknown, missing = sorted(set(state) - set(reference)), sorted(set(reference) - set(state) - optional)
    if unknown or missing:
        raise ValueError(
            f"{owner}: {path} does not hold this agent's state dict: {len(unknown)} unknown entries {unknown[:3]}, {len(missing)} missing {missing[:3]}"
        )
    for name, value in state.items():
        expected = reference[name]
        if value.shape != expected.shape or value.dtype != expected.dtype:
            raise ValueError(
                f"{owner}: {path} entry {name!r} is {value.dtype} {tuple(value.shape)}, expected {expected.dtype} {tuple(expected.shape)}"
            )


def adam_tensors(optimizer: torch.optim.Optimizer) -> dict[str, torch.Tensor]:
    """An optimiser's per-parameter state as flat names ``adam.<parameter index>.<field>`` -> tensors (on the CPU)."""
    return {f"adam.{index}.{field}": value.detach().cpu() for index, fields in optimizer.state_dict()["state"].items() for field, value in fields.items()}


def adam_reference(optimizer: torch.optim.Adam) -> dict[str, torch.Tensor]:
    """Every name :func:`adam_tensors` can give for ``optimizer`` (a parameter without gradients yet has none), as empty tensors of the right shape and dtype."""
    parameters = [p for group in optimizer.param_groups for p in group["params"]]
    reference = {}
    for index, parameter in enumerate(parameters):
        reference[f"adam.{index}.step"] = torch.zeros((), dtype=torch.float32)
        for field in ("exp_avg", "exp_avg_sq"):
            reference[f"adam.{index}.{field}"] = torch.zeros(parameter.shape, dtype=parameter.dtype)
    return reference


def load_adam_tensors(optimizer: torch.optim.Optimizer, tensors: dict[str, torch.Tensor]) -> None:
    """Restore into ``optimizer`` what :func:`adam_tensors` gave (the caller checks it against :func:`adam_reference`)."""
    state: dict[int, dict[str, torch.Tensor]] = {}
    for name, value in tensors.items():
        _, index, field = name.split(".")
        state.setdefault(int(index), {})[field] = value
    optimizer.load_state_dict({"state": state, "param_groups": optimizer.state_dict()["param_groups"]})


def sim_state_tensors(state: SimState) -> dict[str, torch.Tensor]:
    """A simulator state as flat names (``key``, ``user.<name>``, ``items.<name>``...) -> tensors sharing its arrays."""
    tensors = {}
    for field in dataclasses.fields(state):
        value = getattr(state, field.name)
        arrays = {f"{field.name}.{name}": array for name, array in value.items()} if isinstance(value, dict) else {field.name: value}
        tensors.update({name: torch.from_numpy(np.ascontiguousarray(array)) for name, array in arrays.items()})
    return tensors


def sim_state_from_tensors(tensors: dict[str, torch.Tensor], sim: Simulator, owner: str, path: Path) -> SimState:
    """The :class:`SimState` of :func:`sim_state_tensors` for ``sim`` (its names, shapes and dtypes checked by the caller
    with :func:`check_like`). Every value must lie in its declared range before anything is built: the counters
    (episode >= 0, step in ``[0, max_steps)``, a known split, a user index below :data:`~recsim_bench.rng.MAX_USERS`),
    the user model's :meth:`~recsim_bench.parts.users.UserModel.state_ranges` and the item model's
    :meth:`~recsim_bench.parts.items.ItemModel.attribute_ranges`; the first value outside raises ``ValueError``."""
    ranges = {"episode": (0, math.inf), "step": (0, sim.max_steps - 1), "split": (0, len(rng.SPLITS) - 1), "user_id": (0, rng.MAX_USERS - 1)}
    ranges |= {f"user.{name}": bounds for name, bounds in sim.user_model.state_ranges().items()}
    # A catalogue keeps its candidates as ids: the attributes it looks up are not in the state.
    ranges |= {f"items.{name}": bounds for name, bounds in sim.item_model.attribute_ranges().items() if f"items.{name}" in tensors}
    for name, (low, high) in ranges.items():
        values = tensors[name].numpy()
        outside = values[(values < low) | (values > high)]
        if outside.size:
            raise ValueError(
                f"{owner}: {path} entry 'env.{name}' holds values outside [{low}, {'any' if high == math.inf else high}], e.g. {outside.flat[0]}"
            )
    values: dict[str, Any] = {}
    for name, tensor in tensors.items():
        field, _, part = name.partition(".")
        array = tensor.numpy().copy()
        if part:
            values.setdefault(field, {})[part] = array
        else:
            values[field] = array
    return SimState(**values)
