"""RecSimBench/ColdStart-v0: infer a new user's hidden taste from clicks, within and across sessions."""

from __future__ import annotations

from typing import Any, ClassVar

from recsim_bench.envs.core import RecEnv, RecVectorEnv

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
