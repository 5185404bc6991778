"""RecSimBench/LongTermSatisfaction-v0: RecSim's choc/kale environment."""

from __future__ import annotations

from typing import Any, ClassVar

from recsim_bench.envs.core import RecEnv, RecVectorEnv

SENSITIVITY = 0.2

DEFAULTS: dict[str, Any] = {
    "item_model": {"name": "clickbait"},
    "user_model": {"name": "long_term_satisfaction", "sensitivity": SENSITIVITY},
    "choice_model": {"name": "always_first"},
    "response_model": {"name": "engagement"},
    "reward": "engagement",
    "num_candidates": 10,
    "slate_size": 1,
    "max_steps": 100,
}


class LongTermSatisfactionEnv(RecEnv):
    """
    ## Description

    Google RecSim 0.2.4's long-term satisfaction ("choc/kale") environment
    (`recsim/environments/long_term_satisfaction.py`). Each step the platform is offered 10 fresh items, each
    with a clickbait score in [0, 1], and recommends one, which the user always consumes. Clickbait
    ("chocolate") engages more now but lowers the user's hidden satisfaction; wholesome items ("kale") engage
    less now but raise it, and satisfaction scales all later engagement. A myopic policy serves chocolate;
    the long-run optimum serves kale.

    ## Action Space

    `SlateSpace(num_candidates=10, slate_size=1)`: the index of the one recommended candidate.
    A malformed action raises `ValueError` before any state changes.

    ## Observation Space

    A `Dict` of float32 `Box`es (fresh arrays every step):

    | key | shape | content |
    |---|---|---|
    | `user` | (1,) | the fraction of `max_steps` elapsed (the user's state is hidden) |
    | `candidates` | (10, 1) | each candidate's clickbait score |
    | `response` | (1, 3) | click (always 1 after a step), engagement, and the shown item's clickbait score; zeros after reset |

    ## Rewards

    Engagement, lognormal: for clickbait score `c` and satisfaction `sat`,
    `log e ~ N((5 c + 4 (1 - c)) * sat, 1)` (choc mean 5, kale mean 4, both standard deviations 1).
    `info` carries `click` and `engagement`.

    ## Starting State

    Net positive exposure `npe = (v - 0.5) / (1 - 0.7)` with `v` uniform on [0, 1]; satisfaction
    `sigmoid(sensitivity * npe)`. After each step `npe <- 0.7 npe - 2 (c - 0.5) + N(0, 0.05)`.

    ## Episode End

    - `terminated` after the user's 60-step session budget.
    - `truncated` after `max_steps=100`, which the budget makes unreachable with the defaults.

    ## Arguments

    ```python
    gym.make(
        "RecSimBench/LongTermSatisfaction-v0",
        item_model="clickbait",
        user_model={"name": "long_term_satisfaction", "sensitivity": 0.2},  # memory discount 0.7, innovation 0.05, budget 60
        choice_model="always_first",
        response_model="engagement",                                        # choc mean 5, kale mean 4, stddev 1
        reward="engagement",
        num_candidates=10,
        slate_size=1,
        max_steps=100,
    )
    ```

    **Differs from RecSim:** the sensitivity is 0.2 instead of RecSim's 0.01. With 0.01 satisfaction stays within
    0.49..0.51, so the trade-off the environment is about barely exists: the myopic oracle beats always-kale (see
    below). With 0.2 satisfaction spans about 0.34..0.66 and always-kale earns about twice what the myopic oracle
    does. RecSim's value is restored with

    ```python
    gym.make("RecSimBench/LongTermSatisfaction-v0", user_model={"name": "long_term_satisfaction", "sensitivity": 0.01})
    ```

    (a part given as a dict takes its other parameters from the part's defaults, which are RecSim's).

    ## Examples

    >>> import gymnasium as gym
    >>> import numpy as np
    >>> import recsim_bench
    >>> env = gym.make("RecSimBench/LongTermSatisfaction-v0")
    >>> obs, info = env.reset(seed=0)
    >>> {key: value.shape for key, value in obs.items()}
    {'user': (1,), 'candidates': (10, 1), 'response': (1, 3)}
    >>> obs, reward, terminated, truncated, info = env.step([0])  # candidate 0
    >>> round(reward, 2), terminated, truncated
    (5.22, False, False)
    >>> info["click"]
    array([1.])
    >>> info["engagement"].round(2)  # the reward: engagement of the clicked item
    array([5.22])
    >>> envs = gym.make_vec("RecSimBench/LongTermSatisfaction-v0", num_envs=3)
    >>> vector_obs, infos = envs.reset(seed=0)
    >>> vector_obs["candidates"].shape
    (3, 10, 1)
    >>> # row i of a vector env reset with seed s is the single env reset with seed s + i:
    >>> row_1, _ = gym.make("RecSimBench/LongTermSatisfaction-v0").reset(seed=1)
    >>> all(np.array_equal(row_1[key], vector_obs[key][1]) for key in row_1)
    True

    ## Reference returns

    - **random**: a uniformly random candidate.
    - **greedy**: myopic and non-personalised: the candidate with the highest expected immediate engagement for
      the population's mean user (net positive exposure 0, satisfaction 0.5).
    - **oracle**: myopic with privileged access: the candidate with the highest expected immediate engagement
      under the user's true satisfaction.

    Expected engagement, `exp((4 + c) * sat + 1/2)`, increases with the clickbait score `c` whatever the
    satisfaction, so greedy and oracle both serve the most clickbait candidate every step: their slates, and
    returns, are identical. Both lose to random, which is the point of the environment.

    **A far-sighted policy beats the myopic oracle.** "kale" always serves the least clickbait candidate (it reads
    only the observed clickbait scores): with the default sensitivity 0.2 it earns about twice the oracle's
    return (the table above). With RecSim's own sensitivity it does not; same protocol, measured by
    `python benchmarks/reference_returns.py --extra`, which prints both rows:

    | user_model | oracle (myopic) | kale (least clickbait) |
    |---|---|---|
    | RecSim's: `user_model={"name": "long_term_satisfaction", "sensitivity": 0.01}` | 1112.66 [1101.19, 1124.13] | 783.27 [775.18, 791.36] |

    ## Vectorized environment

    `gym.make_vec("RecSimBench/LongTermSatisfaction-v0", num_envs=N)` gives `LongTermSatisfactionVectorEnv`: the
    same simulator over N users, stepped together. Row `i` of a vector env reset with seed `s` behaves bit for bit
    like a single env reset with seed `s + i`. It uses `AutoresetMode.NEXT_STEP`: the step after a row's episode
    ended ignores that row's action, starts its next episode and returns reward 0. `info` is Gymnasium's dict of
    arrays (`info["engagement"]` of shape `(N, 1)`, `info["_engagement"]` marking the rows that were stepped).

    ## Version History

    - v0: initial version, RecSim 0.2.4's equations with sensitivity 0.2.
    """

    defaults: ClassVar[dict[str, Any]] = DEFAULTS


class LongTermSatisfactionVectorEnv(RecVectorEnv):
    """N users of :class:`LongTermSatisfactionEnv` stepped together."""

    defaults: ClassVar[dict[str, Any]] = DEFAULTS
