"""Weights files of the torch agents: written as bytes for an atomic write, read without unpickling."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any

import torch


def torch_bytes(value: Any) -> bytes:
    """``torch.save`` of ``value`` into bytes (for :func:`recsim_bench.files.write_bytes_atomic`)."""
    buffer = io.BytesIO()
    torch.save(value, buffer)
    return buffer.getvalue()


def load_state_dict(path: Path, owner: str) -> dict[str, torch.Tensor]:
    """A state dict (names -> tensors, on the CPU) from ``path``, loaded with ``weights_only=True``.

    A missing, foreign or tampered file raises ``ValueError`` naming ``owner`` (e.g. ``"PPOAgent.load"``) and ``path``.
    """
    if not zipfile.is_zipfile(path):
        raise ValueError(f"{owner}: {path} is not a torch.save archive (missing or not a zip file)")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # noqa: BLE001 (torch raises many kinds on a foreign file)
        raise ValueError(f"{owner}: {path} could not be read as a state dict of tensors: {error}") from error
    if not isinstance(state, dict) or not all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state.items()):
        raise ValueError(f"{owner}: {path} does not hold a state dict (names -> tensors)")
    return state
