"""What every part shares: frozen JSON-serialisable parameters, a name, a registry.

A part is a frozen dataclass whose fields are its parameters. Concrete parts
register themselves under a kind (``item_model``, ``user_model``, ...) and a
name, and :func:`build_part` turns a ``gym.make`` kwarg, either a name or a
dict ``{"name": ..., **parameters}``, into an instance, refusing unknown names
and parameters with the allowed values.
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar, Mapping

import numpy as np
from numpy.typing import NDArray

from recsim_bench import checks

_REGISTRY: dict[str, dict[str, type["Part"]]] = {}

PartSpec = str | Mapping[str, Any]


@dataclasses.dataclass(frozen=True)
class Part:
    """Base of all parts: subclasses are frozen dataclasses of their parameters."""

    kind: ClassVar[str] = ""
    name: ClassVar[str] = ""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.kind and cls.name:
            _REGISTRY.setdefault(cls.kind, {})[cls.name] = cls

    def spec(self) -> dict[str, Any]:
        """The JSON-serialisable spec that rebuilds this part through :func:`build_part`."""
        return {"name": self.name, **_to_json(dataclasses.asdict(self))}


def _to_json(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _to_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_to_json(v) for v in value]
    return value


def _freeze(value: Any) -> Any:
    """Lists from JSON become tuples so that parameters stay hashable and immutable."""
    if isinstance(value, (list, tuple)):
        return tuple(_freeze(v) for v in value)
    return value


def build_part(kind: str, spec: PartSpec | Part) -> Part:
    """Build the part of ``kind`` described by a name, a ``{"name": ..., **params}`` dict or an instance."""
    options = _REGISTRY[kind]
    if isinstance(spec, Part):
        if spec.kind != kind:
            raise ValueError(f"{kind}: expected a {kind} part, got a {spec.kind} part ({spec.name!r})")
        return spec
    if isinstance(spec, str):
        name, params = spec, {}
    elif isinstance(spec, Mapping):
        params = dict(spec)
        name = params.pop("name", None)
    else:
        raise ValueError(f"{kind}: expected a name or a dict with a 'name' key, got {spec!r}")
    if name not in options:
        raise ValueError(f"{kind}: unknown name {name!r}; allowed: {sorted(options)}")
    cls = options[name]
    allowed = [f.name for f in dataclasses.fields(cls)]
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        raise ValueError(f"{kind} {name!r}: unknown parameter(s) {unknown}; allowed: {allowed}")
    return cls(**{k: _freeze(v) for k, v in params.items()})


def take_rows(values: NDArray, flat: NDArray[np.int64]) -> NDArray:
    """``values`` (``(N, M, ...)``) at flat indices into its first two axes: shape ``flat.shape + (...)``."""
    if values.ndim == 2:
        return values.take(flat)
    return values.reshape(-1, *values.shape[2:]).take(flat, axis=0)


def sum_last(values: NDArray) -> NDArray:
    """Sum over the short last axis, column by column from the left.

    Much faster than ``values.sum(axis=-1)`` for a few columns, and the order
    of additions never depends on the number of rows.
    """
    total = values[..., 0].copy()
    for column in range(1, values.shape[-1]):
        total += values[..., column]
    return total


def categorical(u: NDArray[np.float64], probs: NDArray[np.float64]) -> NDArray[np.int64]:
    """Category indices drawn from uniforms ``u`` by the inverse CDF of ``probs``: index ``i`` where ``u`` falls
    in ``[probs[0] + ... + probs[i - 1], probs[0] + ... + probs[i])``."""
    cumulative = np.cumsum(probs)[:-1]
    return np.searchsorted(cumulative, u, side="right").astype(np.int64)


def unit_rows(vectors: NDArray[np.float64]) -> NDArray[np.float64]:
    """Rows of ``vectors`` (last axis) scaled to unit length, a zero row left zero; see :func:`sum_last`."""
    norm = np.sqrt(sum_last(vectors * vectors))
    return vectors / np.maximum(norm, 1e-12)[..., None]


# Validation helpers used by the parts' __post_init__: each names the part and the parameter.
def _label(part: Part, field: str) -> str:
    """How a message names a part's parameter: ``kind 'name': field``."""
    return f"{part.kind} {part.name!r}: {field}"


def _number(part: Part, field: str) -> float:
    return checks.check_number(getattr(part, field), _label(part, field))


def check_positive(part: Part, field: str, strict: bool = True) -> None:
    value = _number(part, field)
    ok = np.isfinite(value) and (value > 0 if strict else value >= 0)
    if not ok:
        bound = "> 0" if strict else ">= 0"
        raise ValueError(f"{_label(part, field)} must be a finite number {bound}, got {value!r}")


def check_range(part: Part, field: str, low: float, high: float) -> None:
    value = _number(part, field)
    if not (np.isfinite(value) and low <= value <= high):
        raise ValueError(f"{_label(part, field)} must be in [{low}, {high}], got {value!r}")


def check_integer(part: Part, field: str, low: int) -> None:
    """The parameter ``field`` of ``part`` is an integer >= ``low`` (:func:`recsim_bench.checks.check_integer`)."""
    checks.check_integer(getattr(part, field), _label(part, field), low)


def check_nonnegative(part: Part, field: str) -> None:
    """Every entry of a number or (nested) list of numbers is finite and >= 0 (NaN fails every comparison, so it is named)."""
    values = _numbers(part, field)
    if not np.all(np.isfinite(values) & (values >= 0)):
        raise ValueError(f"{_label(part, field)} must be finite and >= 0, got {getattr(part, field)!r}")


def check_finite(part: Part, field: str) -> None:
    value = _numbers(part, field)
    if not np.all(np.isfinite(value)):
        raise ValueError(f"{_label(part, field)} must be finite, got {getattr(part, field)!r}")


def _numbers(part: Part, field: str) -> NDArray[np.float64]:
    """A parameter that is a number or a (nested) list of numbers, as a float array."""
    value = getattr(part, field)
    flat = np.ravel(np.asarray(value, dtype=object)) if not isinstance(value, str) else [value]
    if not all(checks.is_number(v) for v in flat):
        raise ValueError(f"{_label(part, field)} must be a number or a list of numbers, got {value!r}")
    try:
        return np.asarray(value, dtype=float)
    except ValueError:
        raise ValueError(f"{_label(part, field)} must be a regular (not ragged) list, got {value!r}") from None


def check_probabilities(part: Part, field: str) -> NDArray[np.float64]:
    probs = _numbers(part, field)
    if probs.ndim != 1 or probs.size == 0 or np.any(probs < 0) or not np.isclose(probs.sum(), 1.0):
        raise ValueError(
            f"{_label(part, field)} must be a non-empty list of non-negative numbers "
            f"summing to 1, got {getattr(part, field)!r}"
        )
    return probs


def check_shape(part: Part, field: str, shape: tuple[int, ...]) -> None:
    value = _numbers(part, field)
    if value.shape != shape:
        raise ValueError(f"{_label(part, field)} must have shape {shape}, got {value.shape}")
