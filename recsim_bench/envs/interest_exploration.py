"""RecSimBench/InterestExploration-v0: RecSim's correlated interest-exploration environment."""

from __future__ import annotations

from typing import Any, ClassVar

from recsim_bench.envs.core import RecEnv, RecVectorEnv

DEFAULTS: dict[str, Any] = {
    "item_model": {"name": "topic_lognormal_quality"},
    "user_model": {"name": "static_affinity", "affinity_mean": [[0.1, 1.5], [1.5, 0.1]]},
    "choice_model": {"name": "multinomial_logit", "no_click_mass": 5.0},
    "response_model": {"name": "click"},
    "reward": "clicks",
    "num_candidates": 10,
    "slate_size": 2,
    "max_steps": 100,
}


class InterestExplorationEnv(RecEnv):
    """
    ## Description

    Google RecSim 0.2.4's correlated interest-exploration environment
    (`recsim/environments/interest_exploration.py`). Each step the platform is offered 10 fresh items, each of
    one of two topics, and shows a slate of 2. Users are of two hidden types with opposite topic affinities.
    A user clicks at most one item, with a multinomial logit over `affinity(topic) + quality` and a strong
    no-click option. The defaults:

    | | topic 0 | topic 1 |
    |---|---|---|
    | share of items | 20% | 80% |
    | item quality | lognormal(0.8, 0.1), about 2.2 | lognormal(0.2, 0.1), about 1.2 |
    | affinity of type-0 users (30%) | lognormal(0.1, 0.1), about 1.1 | lognormal(1.5, 0.1), about 4.5 |
    | affinity of type-1 users (70%) | about 4.5 | about 1.1 |

    Topic 0 is rare in the catalogue but has the higher production quality and appeals to most users; the
    type-0 users' interest in topic 1 is the niche. A policy that learns the population's taste serves topic 0
    to everyone; a good policy infers each user's type from the clicks and serves niche users their topic
    (the gap between greedy and oracle below).

    ## Action Space

    `SlateSpace(num_candidates=10, slate_size=2)`: distinct candidate indices, the first being the top slot.
    A malformed slate raises `ValueError` before any state changes.

    ## Observation Space

    A `Dict` of float32 `Box`es (fresh arrays every step):

    | key | shape | content |
    |---|---|---|
    | `user` | (1,) | the fraction of `max_steps` elapsed (the user's type and affinities are hidden) |
    | `candidates` | (10, 3) | one-hot topic, then quality |
    | `response` | (2, 4) | per slot of the last slate: click, then the shown item's one-hot topic and quality; zeros after reset |

    ## Rewards

    1 per click (at most one per step). `info` carries `click`, one value per slot.

    ## Starting State

    User type 0 with probability 0.3, else 1; the affinity for topic `d` is lognormal with mean
    `((0.1, 1.5), (1.5, 0.1))[type][d]` and standard deviation 0.1 (of the underlying normal). The user never
    changes.

    ## Episode End

    - The user never leaves: never `terminated`.
    - `truncated` after `max_steps=100` steps.

    ## Arguments

    ```python
    gym.make(
        "RecSimBench/InterestExploration-v0",
        item_model="topic_lognormal_quality",   # topic_probs (0.2, 0.8), quality_mean (0.8, 0.2), quality_stddev (0.1, 0.1)
        user_model={"name": "static_affinity", "affinity_mean": [[0.1, 1.5], [1.5, 0.1]]},  # user_type_probs (0.3, 0.7), affinity_stddev 0.1
        choice_model={"name": "multinomial_logit", "no_click_mass": 5.0},
        response_model="click",
        reward="clicks",
        num_candidates=10,
        slate_size=2,
        max_steps=100,
    )
    ```

    **Differs from RecSim**, to make a better benchmark:

    - RecSim's episode never ends; this one is truncated after 100 steps so that returns are finite and
      comparable. A longer horizon: `max_steps=1000`.
    - RecSim's affinity means are `((0.1, 0.7), (0.7, 0.1))`. With them topic 0's quality outweighs the niche
      users' affinity for topic 1, every user prefers topic 0, and knowing a user's type is worth almost nothing:
      over 500 episodes the myopic oracle scored 39.3 clicks and the population-greedy policy 38.8. With
      `((0.1, 1.5), (1.5, 0.1))` niche users prefer their own topic, and the oracle beats greedy by about
      10 clicks (below). RecSim's values: `gym.make("RecSimBench/InterestExploration-v0",
      user_model="static_affinity")` (the part's own defaults are RecSim's).

    ## Examples

    >>> import gymnasium as gym
    >>> import numpy as np
    >>> import recsim_bench
    >>> env = gym.make("RecSimBench/InterestExploration-v0")
    >>> obs, info = env.reset(seed=0)
    >>> {key: value.shape for key, value in obs.items()}
    {'user': (1,), 'candidates': (10, 3), 'response': (2, 4)}
    >>> obs, reward, terminated, truncated, info = env.step([0, 1])  # candidates 0, 1, top slot first
    >>> round(reward, 2), terminated, truncated
    (1.0, False, False)
    >>> info["click"]
    array([1., 0.])
    >>> envs = gym.make_vec("RecSimBench/InterestExploration-v0", num_envs=3)
    >>> vector_obs, infos = envs.reset(seed=0)
    >>> vector_obs["candidates"].shape
    (3, 10, 3)
    >>> # row i of a vector env reset with seed s is the single env reset with seed s + i:
    >>> row_1, _ = gym.make("RecSimBench/InterestExploration-v0").reset(seed=1)
    >>> all(np.array_equal(row_1[key], vector_obs[key][1]) for key in row_1)
    True

    ## Reference returns

    - **random**: a uniformly random slate of distinct candidates.
    - **greedy**: myopic and non-personalised: the two candidates with the highest expected immediate reward
      (click probability when shown alone) for the population's mean user, whose affinity for each topic is the
      population average. It prefers topic 0 for every user.
    - **oracle**: myopic with privileged access: the same ranking under the user's true, hidden affinities.

    ## Vectorized environment

    `gym.make_vec("RecSimBench/InterestExploration-v0", num_envs=N)` gives `InterestExplorationVectorEnv`: the same
    simulator over N users, stepped together. Row `i` of a vector env reset with seed `s` behaves bit for bit like
    a single env reset with seed `s + i`. It uses `AutoresetMode.NEXT_STEP`: the step after a row's episode ended
    ignores that row's action, starts its next episode and returns reward 0. `info` is Gymnasium's dict of arrays
    (`info["click"]` of shape `(N, 2)`, `info["_click"]` marking the rows that were stepped).

    ## Version History

    - v0: initial version, RecSim 0.2.4's equations with a 100-step limit and stronger niche affinities.
    """

    defaults: ClassVar[dict[str, Any]] = DEFAULTS


class InterestExplorationVectorEnv(RecVectorEnv):
    """N users of :class:`InterestExplorationEnv` stepped together."""

    defaults: ClassVar[dict[str, Any]] = DEFAULTS
