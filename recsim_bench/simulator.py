"""The batched simulator: composes the parts into pure ``reset`` / ``step`` / ``observe`` over rows.

Every array in a :class:`SimState` has the user (row) axis first. ``reset``
and ``step`` return new states and never write into the one they were given.
Each row draws its randomness from :mod:`recsim_bench.rng` keyed by its own
key, episode and step, so a row's trajectory does not depend on the others.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any

import numpy as np
from gymnasium import spaces
from numpy.typing import NDArray

from recsim_bench import rng
from recsim_bench.checks import check_integer, is_integer
from recsim_bench.parts import ChoiceModel, ItemModel, ResponseModel, Reward, UserModel
from recsim_bench.parts.base import take_rows
from recsim_bench.parts.items import Items
from recsim_bench.parts.response import BINARY_BEHAVIOURS


@dataclasses.dataclass(frozen=True)
class SimState:
    """The whole dynamic state of N rows."""

    key: NDArray[np.uint64]  # (N,) random key of each row
    episode: NDArray[np.int64]  # (N,) episode index since the row was seeded
    split: NDArray[np.int64]  # (N,) the split of the row's user (task): an index into rng.SPLITS
    user_id: NDArray[np.int64]  # (N,) the index of the row's user (task) within its split
    step: NDArray[np.int64]  # (N,) steps taken in the current episode
    user: dict[str, NDArray]  # hidden user state, each (N, ...)
    items: Items  # current candidates' attributes, each (N, K)
    response: NDArray[np.float32]  # (N, S, B + F) last response per slot: behaviours, then item features

    def __len__(self) -> int:
        return len(self.key)

    def rows(self, index: slice | NDArray) -> "SimState":
        """The rows at ``index``: views for a slice, copies for a mask or an index array."""
        return SimState(
            key=self.key[index],
            episode=self.episode[index],
            split=self.split[index],
            user_id=self.user_id[index],
            step=self.step[index],
            user={name: values[index] for name, values in self.user.items()},
            items={name: values[index] for name, values in self.items.items()},
            response=self.response[index],
        )


def concatenate_states(states: list[SimState]) -> SimState:
    """The rows of ``states`` one after the other, in a new state."""
    if len(states) == 1:
        return states[0]
    first = states[0]
    return SimState(
        key=np.concatenate([s.key for s in states]),
        episode=np.concatenate([s.episode for s in states]),
        split=np.concatenate([s.split for s in states]),
        user_id=np.concatenate([s.user_id for s in states]),
        step=np.concatenate([s.step for s in states]),
        user={name: np.concatenate([s.user[name] for s in states]) for name in first.user},
        items={name: np.concatenate([s.items[name] for s in states]) for name in first.items},
        response=np.concatenate([s.response for s in states]),
    )


@dataclasses.dataclass(frozen=True)
class StepResult:
    """What one step returns besides the new state."""

    reward: NDArray[np.float64]  # (N,)
    terminated: NDArray[np.bool_]  # (N,) the user left
    truncated: NDArray[np.bool_]  # (N,) the step limit was reached
    behaviours: dict[str, NDArray[np.float64]]  # each (N, S)


@dataclasses.dataclass(frozen=True)
class StepDraws:
    """The randomness of one step of N rows, which never depends on the state or the action."""

    uniforms: NDArray[np.float64]  # (N, uniforms per step)
    items: Items  # the next candidates, each (N, K)

    def rows(self, start: int, stop: int) -> "StepDraws":
        """Rows ``start:stop`` (views, not copies)."""
        return StepDraws(self.uniforms[start:stop], {name: values[start:stop] for name, values in self.items.items()})


def _take(items: Items, index: NDArray[np.int64], num_candidates: int) -> Items:
    """The attributes of the items at ``index`` (``(N, S)``) of every row; attributes may have trailing axes."""
    flat = index + np.arange(0, len(index) * num_candidates, num_candidates)[:, None]
    return {name: take_rows(values, flat) for name, values in items.items()}



def _bounds_box(low: NDArray, high: NDArray) -> spaces.Box:
    return spaces.Box(low=low.astype(np.float32), high=high.astype(np.float32), dtype=np.float32)


def available_memory() -> int | None:
    """Bytes this process can still allocate without swapping: ``MemAvailable`` of ``/proc/meminfo`` (capped
    by the cgroup's ``memory.max`` when there is one), else ``os.sysconf``'s available pages; ``None`` if unknown."""
    available = None
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    available = int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    if available is None:
        try:
            available = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (AttributeError, OSError, ValueError):  # not a POSIX system
            return None
    try:
        with open("/sys/fs/cgroup/memory.max", encoding="ascii") as limit, open("/sys/fs/cgroup/memory.current", encoding="ascii") as used:
            available = min(available, int(limit.read()) - int(used.read()))
    except (OSError, ValueError):  # no cgroup v2 limit ("max" is not a number)
        pass
    return available


def memory_estimate(
    item_model: ItemModel, user_model: UserModel, response_model: ResponseModel, num_candidates: int, slate_size: int, rows: int
) -> int:
    """Bytes that a simulator of these parts and sizes needs to reset and step ``rows`` rows at once (an estimate
    from above, within a small factor): its observation space, the item model's own tables, and per row the
    step's uniforms, two generations of candidates with the temporaries that sampling makes, and two observations."""
    k, features = num_candidates, item_model.num_features
    response_width = slate_size * (len(response_model.behaviours) + features)
    # The candidates' Box holds low, high (float32) and two bool masks, and is built from float32 copies.
    space = 20 * k * features + 20 * response_width
    uniforms = 8 * (k * item_model.uniforms_per_item + user_model.init_uniforms + user_model.update_uniforms + 8 * slate_size)
    per_row = 5 * uniforms + 2 * 4 * (k * features + response_width) + 16 * slate_size + 256
    return space + item_model.memory_bytes(k) + rows * per_row


class Simulator:
    """Composes an item, user, choice and response model and a reward over a batch of users.

    Args:
        item_model, user_model, choice_model, response_model: the parts.
        reward: the reward function over the response model's behaviours.
        num_candidates: K, candidates offered per step (fresh every step).
        slate_size: S, candidates recommended per step.
        max_steps: steps after which an episode is truncated.
        rows: the most rows the caller resets, steps or draws at once, for the memory estimate.
        memory_limit: bytes; a configuration whose :func:`memory_estimate` exceeds it is refused before
            anything large is allocated. ``None`` (default): the machine's :func:`available_memory`.
    """

    def __init__(
        self,
        item_model: ItemModel,
        user_model: UserModel,
        choice_model: ChoiceModel,
        response_model: ResponseModel,
        reward: Reward,
        num_candidates: int,
        slate_size: int,
        max_steps: int,
        rows: int = 1,
        memory_limit: int | None = None,
    ) -> None:
        for name, value in (("num_candidates", num_candidates), ("slate_size", slate_size), ("max_steps", max_steps), ("rows", rows)):
            check_integer(value, name, 1)
        if slate_size > num_candidates:
            raise ValueError(f"slate_size must be <= num_candidates ({num_candidates}), got {slate_size}")
        item_model.check_num_candidates(int(num_candidates))
        _check_compatible(item_model, user_model, response_model)
        _check_memory(memory_estimate(item_model, user_model, response_model, int(num_candidates), int(slate_size), int(rows)), memory_limit)
        self.item_model = item_model
        self.user_model = user_model
        self.choice_model = choice_model
        self.response_model = response_model
        self.reward = reward
        self.num_candidates = int(num_candidates)
        self.slate_size = int(slate_size)
        self.max_steps = int(max_steps)

        k, s = self.num_candidates, self.slate_size
        # Layout of a step's uniforms: [choice | response per slot | user update | new candidates].
        self._response_start = choice_model.uniforms(s)
        self._update_start = self._response_start + s * response_model.uniforms_per_slot
        self._items_start = self._update_start + user_model.update_uniforms
        self._step_uniforms = self._items_start + k * item_model.uniforms_per_item
        self._behaviour_cap = response_model.behaviour_bounds()[1].astype(np.float64)
        self._response_width = len(response_model.behaviours) + item_model.num_features
        self.observation_space = self._observation_space()

    def _observation_space(self) -> spaces.Dict:
        user_low, user_high = self.user_model.observation_bounds()
        feat_low, feat_high = self.item_model.feature_bounds()
        beh_low, beh_high = self.response_model.behaviour_bounds()
        k, s = self.num_candidates, self.slate_size
        return spaces.Dict(
            {
                "user": _bounds_box(np.append(user_low, 0.0), np.append(user_high, 1.0)),
                "candidates": _bounds_box(np.tile(feat_low, (k, 1)), np.tile(feat_high, (k, 1))),
                # The response is all zeros before the first step, so its bounds include 0.
                "response": _bounds_box(
                    np.tile(np.minimum(np.concatenate([beh_low, feat_low]), 0.0), (s, 1)),
                    np.tile(np.maximum(np.concatenate([beh_high, feat_high]), 0.0), (s, 1)),
                ),
            }
        )

    @property
    def reward_bounds(self) -> tuple[float, float]:
        """The smallest and largest reward of one step that the parts can produce.

        A slate gets at most :meth:`~recsim_bench.parts.choice.ChoiceModel.max_clicks` clicks, and each
        behaviour is at most its per-slot maximum (:meth:`~recsim_bench.parts.response.ResponseModel.slot_maxima`)
        in each clicked slot; a step behaviour of the user model (``leave``) is 0 or 1 once per step.
        """
        clicks = self.choice_model.max_clicks(self.slate_size)
        slots = self.response_model.slot_maxima(self.item_model.attribute_ranges(), self.user_model.state_ranges())
        amounts = [b for b in self.user_model.step_behaviours if b not in BINARY_BEHAVIOURS]
        if amounts:
            raise ValueError(f"user_model {self.user_model.name!r}: no bound declared for step behaviour(s) {amounts}")
        maxima = {behaviour: clicks * value for behaviour, value in slots.items()}
        return self.reward.bounds(maxima | {behaviour: 1.0 for behaviour in self.user_model.step_behaviours})

    @property
    def return_bounds(self) -> tuple[float, float]:
        """The smallest and largest return of one episode: ``max_steps`` times :attr:`reward_bounds`
        (an episode is truncated at ``max_steps``); a result's returns must lie within them."""
        low, high = self.reward_bounds
        return self.max_steps * low, self.max_steps * high

    def describe(self) -> dict[str, Any]:
        """The parts and sizes as JSON-serialisable specs."""
        return {
            "item_model": self.item_model.spec(),
            "user_model": self.user_model.spec(),
            "choice_model": self.choice_model.spec(),
            "response_model": self.response_model.spec(),
            "reward": self.reward.spec(),
            "num_candidates": self.num_candidates,
            "slate_size": self.slate_size,
            "max_steps": self.max_steps,
        }

    # ------------------------------------------------------------------ dynamics
    def _new_items(self, u: NDArray[np.float64]) -> Items:
        return self.item_model.sample(u.reshape(len(u), self.item_model.uniforms_per_item, self.num_candidates))

    def reset(
        self,
        key: NDArray[np.uint64],
        episode: NDArray[np.int64],
        split: NDArray[np.int64],
        user_id: NDArray[np.int64],
    ) -> SimState:
        """Fresh episodes for rows with the given keys and episode indices.

        Row ``i`` serves user ``user_id[i]`` of split ``split[i]`` (a task): the user's hidden
        state is drawn from the task's own stream, so the same task gives the same user in
        every episode and every env. ``user_id[i] == -1`` means a fresh user of the split,
        indexed by :func:`rng.user_indices` of the row's key and episode.
        """
        n = len(key)
        episode = np.asarray(episode, dtype=np.int64)
        step = np.zeros(n, dtype=np.int64)
        split = np.asarray(split, dtype=np.int64)
        user_id = np.asarray(user_id, dtype=np.int64)
        user_id = np.where(user_id < 0, rng.user_indices(key, episode), user_id)
        u_user = rng.uniforms(rng.task_keys(split, user_id), step, step, rng.TASK, self.user_model.init_uniforms)
        u_items = rng.uniforms(key, episode, step, rng.RESET, self.num_candidates * self.item_model.uniforms_per_item)
        return SimState(
            key=key,
            episode=episode,
            split=split,
            user_id=user_id,
            step=step,
            user=self.user_model.init(u_user, split),
            items=self._new_items(u_items),
            response=np.zeros((n, self.slate_size, self._response_width), dtype=np.float32),
        )

    def draws(self, key: NDArray[np.uint64], episode: NDArray[np.int64], step: NDArray[np.int64]) -> StepDraws:
        """The randomness of step ``step[i]`` of episode ``episode[i]`` of the row keyed ``key[i]``.

        It is a pure function of those, so a single user's future steps can be drawn
        ahead in one batch (rows with the same key and episode and consecutive steps).
        """
        u = rng.uniforms(key, episode, step, rng.STEP, self._step_uniforms)
        return StepDraws(u, self._new_items(u[:, self._items_start :]))

    def step(
        self, state: SimState, slate: NDArray[np.int64], draws: StepDraws | None = None
    ) -> tuple[SimState, StepResult]:
        """Recommend ``slate`` (``(N, S)`` distinct candidate indices, already validated) to every row.

        ``draws`` is ``self.draws(state.key, state.episode, state.step)``, computed here when not given.
        """
        n, s = len(state), self.slate_size
        if draws is None:
            draws = self.draws(state.key, state.episode, state.step)
        u = draws.uniforms
        shown = self.item_model.expand(_take(state.items, slate, self.num_candidates))

        scores = self.user_model.affinity(state.user, shown)
        clicked = self.choice_model.choose(scores, u[:, : self._response_start])

        u_response = u[:, self._response_start : self._update_start].reshape(n, s, self.response_model.uniforms_per_slot)
        behaviours = self.response_model.respond(state.user, shown, scores, clicked, u_response)
        user = self.user_model.update(state.user, shown, clicked, behaviours, u[:, self._update_start : self._items_start])
        for name, values in self.user_model.report(state.user, user).items():  # per-step behaviours, in slot 0
            behaviours[name] = np.zeros((n, s))
            behaviours[name][:, 0] = values

        step = state.step + 1
        terminated = self.user_model.terminated(user)
        truncated = (step >= self.max_steps) & ~terminated
        response = self.item_model.features(shown, lead=len(self.response_model.behaviours))
        for column, behaviour in enumerate(self.response_model.behaviours):
            np.minimum(behaviours[behaviour], self._behaviour_cap[column], out=response[:, :, column], casting="unsafe")
        new_state = SimState(
            key=state.key,
            episode=state.episode,
            split=state.split,
            user_id=state.user_id,
            step=step,
            user=user,
            items=draws.items,
            response=response,
        )
        return new_state, StepResult(self.reward(behaviours), terminated, truncated, behaviours)

    def observe(
        self, state: SimState, out: dict[str, NDArray[np.float32]] | None = None
    ) -> dict[str, NDArray[np.float32]]:
        """Fresh observation arrays for every row, or the observation written into ``out``'s arrays."""
        if out is None:
            elapsed = (state.step / self.max_steps).astype(np.float32)[:, None]
            return {
                "user": np.concatenate([self.user_model.observe(state.user), elapsed], axis=1),
                "candidates": self.item_model.features(state.items),
                "response": state.response,  # a new array every step, never written after it is made
            }
        out["user"][:, :-1] = self.user_model.observe(state.user)
        np.divide(state.step, self.max_steps, out=out["user"][:, -1], casting="unsafe")
        self.item_model.features(state.items, out=out["candidates"])
        out["response"][...] = state.response
        return out

    def empty_observation(self, num_rows: int) -> dict[str, NDArray[np.float32]]:
        """Uninitialised observation arrays for ``num_rows`` rows, for :meth:`observe`'s ``out``."""
        return {key: np.empty((num_rows, *box.shape), box.dtype) for key, box in self.observation_space.spaces.items()}

    # ------------------------------------------------------------------ privileged access
    def candidates(self, state: SimState) -> Items:
        """Every attribute of the current candidates, each ``(N, K, ...)``."""
        return self.item_model.expand(state.items)

    def expected_rewards(self, state: SimState, prior: bool = False) -> NDArray[np.float64]:
        """Expected immediate reward of each candidate shown alone, ``(N, K)``.

        Uses the true hidden user state; with ``prior=True`` the population's
        mean user instead (a non-personalised reference). Only the response model's
        behaviours count: the user model's per-step ones (``leave``) belong to no item.
        """
        n, k = len(state), self.num_candidates
        user = self.user_model.prior(n) if prior else state.user
        candidates = self.candidates(state)
        affinity = self.user_model.affinity(user, candidates)
        click = self.choice_model.click_probabilities(affinity.reshape(n * k, 1)).reshape(n, k)
        given_click = self.response_model.expected_given_click(user, candidates, affinity)
        reward = self.reward.over({b: v[:, :, None] for b, v in given_click.items()})
        return click * reward

    # ------------------------------------------------------------------ validation
    def validate_slates(self, slates: Any, num_rows: int | None) -> NDArray[np.int64]:
        """Check a slate (``num_rows=None``) or a batch of slates; return them as ``(N, S)`` int64.

        Raises ``ValueError`` naming the problem: shape, dtype, NaN, range or duplicates.
        """
        k, s = self.num_candidates, self.slate_size
        array = np.asarray(slates)
        expected = (s,) if num_rows is None else (num_rows, s)
        if array.shape != expected:
            raise ValueError(f"action must have shape {expected} (slate_size={s}), got {array.shape}")
        rows = array.reshape(-1, s)
        if array.dtype.kind == "f" and np.isnan(array).any():
            raise ValueError(f"action contains NaN: {_first_offender(rows, np.isnan(rows))}")
        if array.dtype.kind not in "iu":
            raise ValueError(f"action must have an integer dtype, got {array.dtype}")
        if array.min() < 0 or array.max() >= k:
            bad = (rows < 0) | (rows >= k)
            raise ValueError(f"action entries must be candidate indices in [0, {k - 1}], got {_first_offender(rows, bad)}")
        if has_repeats(array):
            repeats = (rows[:, :, None] == rows[:, None, :]).sum(axis=2) > 1
            raise ValueError(f"action must list distinct candidates, got duplicates in {_first_offender(rows, repeats)}")
        return rows.astype(np.int64, copy=False)


def _check_memory(estimate: int, memory_limit: Any) -> None:
    if memory_limit is not None and not (is_integer(memory_limit) and memory_limit >= 1):
        raise ValueError(f"memory_limit must be a number of bytes >= 1, or None for the available memory; got {memory_limit!r}")
    limit = available_memory() if memory_limit is None else int(memory_limit)
    if limit is not None and estimate > limit:
        source = "memory_limit" if memory_limit is not None else "the available memory"
        raise ValueError(
            f"this configuration needs about {estimate / 2**30:.3g} GiB ({estimate:,} bytes), more than {source} "
            f"({limit / 2**30:.3g} GiB); make num_envs or num_candidates smaller, or pass memory_limit=BYTES to try anyway"
        )


def _first_offender(rows: NDArray, bad: NDArray[np.bool_]) -> str:
    """The first slate with a bad entry, named by its row when there are several rows."""
    row = int(np.flatnonzero(bad.any(axis=1))[0])
    return str(rows[row].tolist()) if len(rows) == 1 else f"{rows[row].tolist()} (row {row})"


def has_repeats(slates: NDArray[np.integer]) -> bool:
    """Whether any slate (last axis) lists a candidate twice.

    Compares each pair of slots as whole columns: S (S - 1) / 2 contiguous comparisons,
    far cheaper for a batch of short slates than one broadcast over ``(N, S, S)``.
    """
    size = slates.shape[-1]
    return any(np.any(slates[..., i] == slates[..., j]) for i in range(size) for j in range(i + 1, size))


def _check_compatible(item_model: ItemModel, user_model: UserModel, response_model: ResponseModel) -> None:
    """Refuse parts that read attributes or fields that the others do not provide."""
    for reader, needs in (
        (f"user_model {user_model.name!r}", user_model.required_item_attributes),
        (f"response_model {response_model.name!r}", response_model.required_item_attributes),
    ):
        missing = sorted(set(needs) - set(item_model.attributes))
        if missing:
            raise ValueError(
                f"{reader} needs item attribute(s) {missing}, which item_model {item_model.name!r} "
                f"does not provide (it provides {list(item_model.attributes)})"
            )
    missing = sorted(set(response_model.required_user_fields) - set(user_model.state_fields))
    if missing:
        raise ValueError(
            f"response_model {response_model.name!r} needs user field(s) {missing}, which user_model "
            f"{user_model.name!r} does not have (it has {list(user_model.state_fields)})"
        )
    missing = sorted(set(user_model.required_behaviours) - set(response_model.behaviours))
    if missing:
        raise ValueError(
            f"user_model {user_model.name!r} needs behaviour(s) {missing}, which response_model "
            f"{response_model.name!r} does not produce (it produces {list(response_model.behaviours)})"
        )
    for size in ("num_topics", "embedding_dim"):
        item_size, user_size = getattr(item_model, size, None), getattr(user_model, size, None)
        if item_size is not None and user_size is not None and item_size != user_size:
            raise ValueError(
                f"user_model {user_model.name!r} has {size}={user_size} but item_model {item_model.name!r} "
                f"has {size}={item_size}; set {size} (or the per-topic lists) to agree"
            )
