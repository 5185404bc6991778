"""RecSimBench/ColdStart-v0: infer a new user's hidden taste from clicks, within and across sessions."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
from numpy.typing import NDArray

from recsim_bench.envs.core import RecEnv, RecVectorEnv
from recsim_bench.references import top_slates

if TYPE_CHECKING:
    from recsim_bench.parts import ChoiceModel, ItemModel, UserModel
    from recsim_bench.references import Policy

DEFAULTS: dict[str, Any] = {
    "item_model": {"name": "catalogue", "num_items": 200, "num_topics": 10, "embedding_dim": 8},
    "user_model": {"name": "cold_start"},
    "choice_model": {"name": "position_based", "examination_decay": 0.8, "attraction_scale": 4.0, "attraction_offset": 0.5},
    "response_model": {"name": "click"},
    "reward": "clicks",
    "num_candidates": 10,
    "slate_size": 3,
    "max_steps": 20,
}

#: Train users drawn (from a fixed seed) to estimate each catalogue item's popularity.
POPULARITY_USERS = 20_000


@functools.lru_cache(maxsize=8)
def item_popularity(item_model: ItemModel, user_model: UserModel, choice_model: ChoiceModel) -> NDArray[np.float64]:
    """Each catalogue item's click probability in the top slot, averaged over train users: ``(num_items,)``.

    A Monte Carlo estimate over :data:`POPULARITY_USERS` train users drawn with ``numpy.random.default_rng(0)``.
    """
    generator = np.random.default_rng(0)
    users = user_model.init(generator.random((POPULARITY_USERS, user_model.init_uniforms)), np.zeros(POPULARITY_USERS, np.int64))
    catalogue = item_model.catalogue
    every_item = {name: np.broadcast_to(values, (1, *values.shape)) for name, values in catalogue.items()}
    total = np.zeros(len(catalogue["item_id"]))
    for start in range(0, POPULARITY_USERS, 1000):
        block = {name: values[start : start + 1000] for name, values in users.items()}
        items = {name: np.broadcast_to(values, (len(block["segment"]), *values.shape[1:])) for name, values in every_item.items()}
        affinity = user_model.affinity(block, items)
        total += choice_model.click_probabilities(affinity.reshape(-1, 1)).reshape(affinity.shape).sum(axis=0)
    return total / POPULARITY_USERS


def popularity_policy(env: Any, obs: dict[str, NDArray[np.float32]], rng: np.random.Generator) -> NDArray[np.int64]:
    """Non-adaptive: the candidates most clicked by the train population (:func:`item_popularity`), best first."""
    sim = env.sim
    popularity = item_popularity(sim.item_model, sim.user_model, sim.choice_model)
    return top_slates(popularity[env.state.items["item_id"]], sim.slate_size)


class LinearUCB:
    """Adaptive, unprivileged reference: a per-user ridge regression of clicks on the observed item features.

    For each row it keeps ``A = ridge * I + sum x x^T`` and ``b = sum click * x`` over every shown item,
    with ``x`` the item's observed features and a constant 1, read from the ``response`` observation.
    It shows the ``S`` candidates with the highest ``x . A^-1 b + bonus * sqrt(x^T A^-1 x)``
    (LinUCB, Li et al., WWW 2010). With ``across_sessions=False`` a row forgets at the start of each
    of its episodes (step 0); with ``True`` it keeps learning across the episodes of a trial (call
    :meth:`reset` when a new trial, i.e. a new user, starts). Called as a policy ``(env, obs, rng)``.
    """

    def __init__(self, bonus: float = 0.5, ridge: float = 1.0, across_sessions: bool = False) -> None:
        self.bonus = bonus
        self.ridge = ridge
        self.across_sessions = across_sessions
        self._a: NDArray[np.float64] | None = None  # (N, F + 1, F + 1)
        self._b: NDArray[np.float64] | None = None  # (N, F + 1)

    def reset(self, rows: NDArray[np.bool_] | slice = slice(None)) -> None:
        """Forget what was learnt about the users of ``rows`` (every row by default)."""
        if self._a is not None:
            self._a[rows] = self.ridge * np.eye(self._a.shape[1])
            self._b[rows] = 0.0

    def __call__(self, env: Any, obs: dict[str, NDArray[np.float32]], rng: np.random.Generator) -> NDArray[np.int64]:
        candidates, response = obs["candidates"], obs["response"]
        n, _, width = candidates.shape
        behaviours = env.sim.response_model.behaviours
        if self._a is None or self._a.shape[:2] != (n, width + 1):
            self._a, self._b = np.empty((n, width + 1, width + 1)), np.empty((n, width + 1))
            self.reset()
        if not self.across_sessions:
            self.reset(obs["user"][:, -1] == 0.0)  # the first step of an episode
        # Learn from the last response (all zeros after a reset, which adds nothing).
        shown = _with_constant(response[:, :, len(behaviours) :])
        shown *= response[:, :, len(behaviours) :].any(axis=2, keepdims=True)
        self._a += np.einsum("nsi,nsj->nij", shown, shown)
        self._b += np.einsum("nsi,ns->ni", shown, response[:, :, behaviours.index("click")])
        x = _with_constant(candidates)
        inverse = np.linalg.inv(self._a)
        estimate = np.einsum("nki,ni->nk", x, np.einsum("nij,nj->ni", inverse, self._b))
        spread = np.sqrt(np.maximum(np.einsum("nki,nij,nkj->nk", x, inverse, x), 0.0))
        return top_slates(estimate + self.bonus * spread, env.sim.slate_size)


def _with_constant(features: NDArray[np.float32]) -> NDArray[np.float64]:
    return np.concatenate([features, np.ones((*features.shape[:2], 1), np.float32)], axis=2).astype(np.float64)


def session_returns(
    env: Any, policy: Policy, tasks: list[dict[str, Any]], sessions: int, seed: int = 0
) -> NDArray[np.float64]:
    """Return of each of ``sessions`` consecutive episodes (a trial) per task: ``(len(tasks), sessions)``.

    ``env`` is a vector env with one row per task (the unwrapped :class:`RecVectorEnv` or a wrapper of it);
    its rows are given the tasks and reset with ``seed``, then stepped with ``policy`` (generator
    ``numpy.random.default_rng(seed)``) until every row has finished ``sessions`` episodes. The policy
    sees every observation, the last of each episode included (the autoreset step ignores its action).
    """
    base = env.unwrapped
    if len(tasks) != base.num_envs:
        raise ValueError(f"tasks must list one task per row ({base.num_envs}), got {len(tasks)}")
    generator = np.random.default_rng(seed)
    base.set_task(list(tasks))
    obs, _ = env.reset(seed=seed)
    returns = np.zeros((base.num_envs, sessions))
    session = np.zeros(base.num_envs, dtype=np.int64)
    rows = np.arange(base.num_envs)
    while session.min() < sessions:
        obs, reward, terminated, truncated, _ = env.step(policy(base, obs, generator))
        counted = session < sessions
        returns[rows[counted], session[counted]] += reward[counted]
        session += np.asarray(terminated) | np.asarray(truncated)
    return returns


EXTRA_POLICIES: dict[str, Policy] = {"popularity": popularity_policy, "linucb": LinearUCB()}


class ColdStartEnv(RecEnv):
    """
    ## Description
    The flagship meta-RL task: a new user whose taste is hidden. Items come from a fixed catalogue of 200
    items in 10 topics, each with a unit embedding in R^8; a user is a hidden unit preference vector in the
    same space, and likes an item by the cosine of the two. Users belong to 16 segments (unit centres,
    users spread around them); the first 12 segments give the ``train`` users, the last 4 the ``test``
    users, so a policy scored on ``test`` users meets tastes it never trained on. Nothing of the user is
    observed: the policy must infer the preference from the clicks on its slates, within a session and,
    for a task (one user), across the user's next sessions. Each step the platform is offered 10
    candidates of the catalogue and shows a slate of 3; the user may click several (position-based model).

    ## Action Space
    ``SlateSpace(num_candidates=10, slate_size=3)``: a ``MultiDiscrete([10, 10, 10])`` of distinct
    candidate indices, the first being the top slot.

    ## Observation Space
    A ``Dict`` of float32 ``Box``es:
    - ``user`` (1,): the fraction of ``max_steps`` elapsed (the preference is hidden);
    - ``candidates`` (10, 18): each candidate's one-hot topic (10), then its embedding (8);
    - ``response`` (3, 19): per slot of the last slate: click, then the shown item's features (zeros after reset).

    ## Rewards
    Clicks: the number of slate items clicked, 0 to 3 per step. Slot ``i`` (0 = top) is examined with
    probability ``0.8 ** i``, and an examined item of affinity ``a`` is clicked with ``sigmoid(4 (a - 0.5))``.

    ## Starting State
    A user of the row's task (or a fresh user of the env's ``split``): a segment drawn uniformly among the
    split's segments, then ``preference = normalise(centre + 0.25 z)``, ``z`` standard normal in R^8. The
    preference never changes and the same task gives the same user in every episode and env.

    ## Episode End
    ``terminated`` never (the user does not leave). ``truncated`` after ``max_steps=20`` steps (a session).

    ## Arguments
    As every RecSimBench environment (see ``InterestEvolution-v0``), and ``split="train"`` or ``"test"``
    (the users of episodes reset without a task). Defaults:
    ``item_model={"name": "catalogue", "num_items": 200, "num_topics": 10, "embedding_dim": 8}``,
    ``user_model={"name": "cold_start"}`` (16 segments, 4 of them test, spread 0.25, segment seed 0),
    ``choice_model={"name": "position_based", "examination_decay": 0.8, "attraction_scale": 4.0,
    "attraction_offset": 0.5}``, ``response_model="click"``, ``reward="clicks"``, ``num_candidates=10``,
    ``slate_size=3``, ``max_steps=20``.

    ## Reference returns
    Mean return and 95% CI over 1,000 episodes (seed 0), from ``python benchmarks/reference_returns.py``:
    random 9.89 [9.68, 10.09], greedy 11.28 [10.88, 11.67], oracle 22.19 [21.90, 22.48], popularity 11.54 [11.14, 11.95], linucb 15.09 [14.80, 15.38].
    Greedy (population's mean user) and oracle (true hidden state) both maximise the immediate
    expected reward; see ``docs/envs/ColdStart-v0.md``.

    ## Vectorized environment
    ``gym.make_vec("RecSimBench/ColdStart-v0", num_envs=N)`` gives :class:`ColdStartVectorEnv`
    (``AutoresetMode.NEXT_STEP``); ``set_task(tasks)`` gives each row its own user, kept across autoresets,
    so N trials run side by side (see ``benchmarks/cold_start_sessions.py``).

    ## Version History
    - v0: initial version.
    """

    defaults: ClassVar[dict[str, Any]] = DEFAULTS


class ColdStartVectorEnv(RecVectorEnv):
    """N users of :class:`ColdStartEnv` stepped together; each row may hold its own task."""

    defaults: ClassVar[dict[str, Any]] = DEFAULTS
