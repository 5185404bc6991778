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

    The flagship meta-RL task: a new user whose taste is hidden. A task is one user; the policy must infer the
    user's preference from the clicks on its slates, within a session and across the user's next sessions.

    - **Items**: a fixed catalogue of 200 items in 10 topics (`item_model="catalogue"`, seed 0); each item has a
      unit embedding in R^8 (its topic's centre plus noise, normalised). The platform observes each candidate's
      one-hot topic and embedding.
    - **Users** (`user_model="cold_start"`): 16 segments, each a unit centre in R^8 generated once from
      `segment_seed=0`. Segments 0-11 are the train segments, 12-15 the test segments. A user takes a segment
      uniformly among its split's segments and has the hidden preference `p = normalise(centre + 0.25 z)`, `z`
      standard normal. The affinity for an item of embedding `e` is `p . e`, in [-1, 1]. The preference never
      changes and the user never leaves. Nothing of the user is observed.
    - **Clicks** (`choice_model="position_based"`): slot `i` (0 = top) is examined with probability `0.8 ** i`;
      an examined item is clicked with `sigmoid(4 (p . e - 0.5))`, independently per slot, so a slate gets 0 to 3 clicks.

    A policy that trained on `train` users meets new tastes on `test` users: the test centres' cosines with their
    nearest train centre are 0.57, 0.77, 0.52 and 0.78, so what was learnt about the population helps only
    partly, and a fixed ranking helps not at all (see below). What pays is adapting to the user.

    ## Sizes, and why

    | | value | why |
    |---|---|---|
    | catalogue | 200 items, 10 topics, embedding dim 8 | enough items that a user's top items are a small share of the catalogue; 8 dimensions make a preference that a few dozen clicks can pin down |
    | segments | 16 (12 train, 4 test), spread 0.25 | several train segments so a meta-learner learns a population rather than one user; held-out test segments so its score measures adaptation, not memory; a spread of 0.25 (noise of norm about 0.7 before normalising) makes users of one segment alike but not identical |
    | candidates | 10 per step | the oracle's pick matters (top 3 of 10), and 10 keeps the simulator above 500,000 user-steps/s at 4,096 users (20 candidates cost about twice as much per user-step) |
    | slate | 3 | several clicks per step (position-based), so each step says something about the user |
    | session | `max_steps=20` steps | short sessions: one session is not enough to learn the user, so the sessions that follow matter |

    ## Action Space

    `SlateSpace(num_candidates=10, slate_size=3)`: a subclass of `MultiDiscrete([10, 10, 10])` whose entries are
    distinct candidate indices, the first being the top slot. A malformed slate raises `ValueError` before any
    state changes.

    ## Observation Space

    A `Dict` of float32 `Box`es (fresh arrays every step):

    | key | shape | content |
    |---|---|---|
    | `user` | (1,) | the fraction of `max_steps` elapsed (the preference is hidden) |
    | `candidates` | (10, 18) | each candidate's one-hot topic (10), then its embedding (8; bounds: the catalogue's range per column) |
    | `response` | (3, 19) | per slot of the last slate: click, then the shown item's topic and embedding; zeros after reset |

    ## Rewards

    Clicks: the number of slate items clicked, 0 to 3 per step. `info` carries `click`, one value per slot.

    ## Starting State

    The user of the row's task (`reset(options={"task": task})`, `set_task`), or a fresh user of the env's
    `split` (`gym.make(id, split="test")`). The same task gives the same user in every episode and every env.

    ## Episode End

    - `terminated`: never (the user does not leave).
    - `truncated` after `max_steps=20` steps: the end of a session. The next episode of the same task is the
      same user's next session.

    ## Arguments

    ```python
    gym.make(
        "RecSimBench/ColdStart-v0",
        split="train",                                        # users of episodes reset without a task
        item_model={"name": "catalogue", "num_items": 200, "num_topics": 10, "embedding_dim": 8},
        user_model={"name": "cold_start"},                    # embedding_dim 8, num_segments 16, num_test_segments 4,
                                                              # within_segment_spread 0.25, segment_seed 0
        choice_model={"name": "position_based", "examination_decay": 0.8, "attraction_scale": 4.0, "attraction_offset": 0.5},
        response_model="click",
        reward="clicks",
        num_candidates=10,
        slate_size=3,
        max_steps=20,
    )
    ```

    The user model's `embedding_dim` must equal the catalogue's (a mismatch raises `ValueError` at the first step).

    ## Examples

    >>> import gymnasium as gym
    >>> import numpy as np
    >>> import recsim_bench
    >>> env = gym.make("RecSimBench/ColdStart-v0")
    >>> obs, info = env.reset(seed=0)
    >>> {key: value.shape for key, value in obs.items()}
    {'user': (1,), 'candidates': (10, 18), 'response': (3, 19)}
    >>> obs, reward, terminated, truncated, info = env.step([0, 1, 2])  # candidates 0, 1, 2, top slot first
    >>> round(reward, 2), terminated, truncated
    (0.0, False, False)
    >>> info["click"]
    array([0., 0., 0.])
    >>> task = env.unwrapped.sample_tasks(1, split="test", seed=0)[0]
    >>> obs, info = env.reset(seed=0, options={"task": task})  # a held-out user
    >>> info["task"]["split"]
    'test'
    >>> envs = gym.make_vec("RecSimBench/ColdStart-v0", num_envs=3)
    >>> vector_obs, infos = envs.reset(seed=0)
    >>> vector_obs["candidates"].shape
    (3, 10, 18)
    >>> # row i of a vector env reset with seed s is the single env reset with seed s + i:
    >>> row_1, _ = gym.make("RecSimBench/ColdStart-v0").reset(seed=1)
    >>> all(np.array_equal(row_1[key], vector_obs[key][1]) for key in row_1)
    True

    ## Reference returns

    An episode is one session of a fresh **train** user.

    - **random**: a uniformly random slate of distinct candidates.
    - **greedy**: non-adaptive: the 3 candidates with the highest expected clicks for the population's mean user,
      the mean preference of the train users (`user_model.prior`: `0.825` times the mean of the 12 train centres,
      the factor being the length of the mean of `normalise(c + 0.25 z)` for a unit `c`).
    - **oracle**: myopic with privileged access: the 3 candidates with the highest click probability under the
      user's true preference. The user never changes, so this is also the best policy there is.
    - **popularity** (a long-run reference of this env): non-adaptive: the candidates most clicked in the top slot,
      on average, by 20,000 train users.

    ## Sessions of a test user (the meta-RL comparison)

    A trial is one **test** user served for 5 consecutive sessions (the same task for 5 episodes): test user `u`,
    for `u` in 0..999, in a vector-env row seeded `u`, as the protocol serves them
    (`recsim_bench.agents.evaluate_sessions`). Mean return of each session with its 95% interval, measured by
    `python benchmarks/cold_start_sessions.py`, which also runs the LinUCB of `baselines/` both ways:

    | policy | session 1 | session 2 | session 3 | session 4 | session 5 |
    |---|---|---|---|---|---|
    | random | 8.64 [8.46, 8.82] | 8.91 [8.73, 9.10] | 8.76 [8.58, 8.93] | 8.79 [8.61, 8.98] | 8.80 [8.63, 8.97] |
    | greedy (mean train user) | 7.27 [7.02, 7.52] | 7.41 [7.16, 7.66] | 7.44 [7.20, 7.69] | 7.37 [7.12, 7.62] | 7.33 [7.08, 7.57] |
    | popularity (train users) | 7.10 [6.86, 7.33] | 7.19 [6.95, 7.43] | 7.15 [6.92, 7.38] | 7.16 [6.92, 7.40] | 7.13 [6.90, 7.36] |
    | linucb, forgets each session | 12.16 [11.93, 12.39] | 12.14 [11.90, 12.39] | 12.14 [11.90, 12.39] | 12.05 [11.80, 12.30] | 12.23 [12.00, 12.47] |
    | linucb, remembers the user (adaptive) | 12.16 [11.93, 12.39] | 15.40 [15.15, 15.64] | 16.66 [16.42, 16.91] | 17.25 [17.00, 17.50] | 17.66 [17.42, 17.89] |
    | oracle (true preference) | 19.16 [18.92, 19.40] | 19.28 [19.03, 19.53] | 19.40 [19.15, 19.65] | 19.34 [19.09, 19.60] | 19.27 [19.03, 19.52] |

    - The best **non-adaptive** policies we tried (greedy for the mean train user, and the items most clicked by
      train users) score below random on test users: what the train population likes misleads on a held-out
      segment. On train users they do beat random (table above).
    - The **oracle** bounds every policy from above (about 19.3 clicks per session).
    - **LinUCB that remembers the user** across the sessions of a trial climbs from 12.2 clicks in session 1 to
      17.7 in session 5 (92% of the oracle), while the same learner that forgets at each session stays at 12.2:
      the gain is from carrying what was learnt about the user into the next session, which is what a meta-RL
      agent (e.g. a recurrent policy under the trial wrapper) has to learn to do. An agent that meta-learns the
      population's structure can also beat LinUCB's session 1, which starts from no prior at all.

    `recsim_bench.agents.evaluate_sessions(agent, id, users, sessions, seed)` runs such trials for any agent.
    The script's `--users`, `--sessions`, `--seed` and `--env-kwargs` change the protocol.

    ## Vectorized environment

    `gym.make_vec("RecSimBench/ColdStart-v0", num_envs=N)` gives `ColdStartVectorEnv`: the same simulator over N
    users, stepped together. Row `i` of a vector env reset with seed `s` behaves bit for bit like a single env
    reset with seed `s + i`. `set_task(tasks)` gives each row its own user, who stays across autoresets, so N trials
    run side by side. It uses `AutoresetMode.NEXT_STEP`: the step after a row's session ended ignores that row's
    action, starts its next session and returns reward 0. `info` is Gymnasium's dict of arrays (`info["click"]` of
    shape `(N, 3)`, `info["task"]` the rows' tasks).

    ## Version History

    - v0: initial version.
    """

    defaults: ClassVar[dict[str, Any]] = DEFAULTS


class ColdStartVectorEnv(RecVectorEnv):
    """N users of :class:`ColdStartEnv` stepped together; each row may hold its own task."""

    defaults: ClassVar[dict[str, Any]] = DEFAULTS
