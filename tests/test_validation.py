"""Bad input is refused with a ValueError that names the problem, and leaves the environment as it was."""

from __future__ import annotations

import re
from typing import Any, Callable

import gymnasium as gym
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from numpy.testing import assert_array_equal

import recsim_bench  # noqa: F401  (registers the RecSimBench/* ids)
from recsim_bench import SlateSpace

ENV_ID = "RecSimBench/InterestEvolution-v0"
K, S, N = 10, 2, 3  # the env's num_candidates and slate_size; the vector env's num_envs
SEED = 123

SETTINGS = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

SHAPE = "must have shape"
DTYPE = "must have an integer dtype"
NAN = "contains NaN"
RANGE = f"candidate indices in [0, {K - 1}]"
DUPLICATES = "must list distinct candidates"


# ---------------------------------------------------------------- malformed slates
def _valid_slates(shape: tuple[int, ...]) -> st.SearchStrategy[np.ndarray]:
    """Valid int64 slates of ``shape`` (rows of distinct candidates)."""
    rows = int(np.prod(shape[:-1]))
    row = st.permutations(range(K)).map(lambda p: p[: shape[-1]])
    return st.lists(row, min_size=rows, max_size=rows).map(lambda r: np.array(r, dtype=np.int64).reshape(shape))


@st.composite
def bad_slates(draw: st.DrawFn, shape: tuple[int, ...]) -> tuple[np.ndarray, str]:
    """A slate for an action of ``shape`` that is wrong in one way, and the fragment its error must contain."""
    problem = draw(st.sampled_from(["shape", "float", "nan", "range", "duplicates"]))
    if problem == "shape":
        bad_shape = draw(hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4).filter(lambda s: s != shape))
        return draw(hnp.arrays(np.int64, bad_shape, elements=st.integers(0, K - 1))), SHAPE
    slate = draw(_valid_slates(shape))
    flat = slate.reshape(-1)
    position = draw(st.integers(0, flat.size - 1))
    if problem == "float":
        dtype = draw(st.sampled_from([np.float64, np.float32]))
        return slate.astype(dtype), DTYPE
    if problem == "nan":
        bad = slate.astype(np.float64)
        bad.reshape(-1)[position] = np.nan
        return bad, NAN
    if problem == "range":
        int64 = np.iinfo(np.int64)
        flat[position] = draw(st.integers(int64.min, -1) | st.integers(K, int64.max))
        return slate, RANGE
    # duplicates: copy a row's first candidate into another slot of the same row
    row = slate.reshape(-1, shape[-1])[draw(st.integers(0, slate.size // shape[-1] - 1))]
    row[draw(st.integers(1, shape[-1] - 1))] = row[0]
    return slate, DUPLICATES


def _assert_same_step(first: tuple, second: tuple) -> None:
    obs_a, reward_a, terminated_a, truncated_a, _ = first
    obs_b, reward_b, terminated_b, truncated_b, _ = second
    for name in obs_b:
        assert_array_equal(obs_a[name], obs_b[name])
    assert_array_equal(reward_a, reward_b)
    assert_array_equal(terminated_a, terminated_b)
    assert_array_equal(truncated_a, truncated_b)


@pytest.fixture(scope="module")
def single_envs() -> tuple[gym.Env, gym.Env]:
    return gym.make(ENV_ID), gym.make(ENV_ID)


@pytest.fixture(scope="module")
def vector_envs() -> tuple[gym.vector.VectorEnv, gym.vector.VectorEnv]:
    return gym.make_vec(ENV_ID, num_envs=N), gym.make_vec(ENV_ID, num_envs=N)


def _check_refused_without_effect(envs: tuple[Any, Any], bad: np.ndarray, fragment: str, first, second) -> None:
    """``bad`` raises naming the problem; afterwards env 0 steps exactly like its twin that never saw it."""
    env, twin = envs
    for e in envs:
        e.reset(seed=SEED)
        e.step(first)
    with pytest.raises(ValueError, match=re.escape(fragment)):
        env.step(bad)
    _assert_same_step(env.step(second), twin.step(second))


@SETTINGS
@given(bad=bad_slates((S,)), first=_valid_slates((S,)), second=_valid_slates((S,)))
def test_single_env_refuses_malformed_slates(single_envs, bad, first: np.ndarray, second: np.ndarray) -> None:
    _check_refused_without_effect(single_envs, *bad, first, second)


@SETTINGS
@given(bad=bad_slates((N, S)), first=_valid_slates((N, S)), second=_valid_slates((N, S)))
def test_vector_env_refuses_malformed_slates(vector_envs, bad, first: np.ndarray, second: np.ndarray) -> None:
    _check_refused_without_effect(vector_envs, *bad, first, second)


@pytest.mark.parametrize(
    "action, fragment",
    [
        (np.array([3]), SHAPE),
        (np.array([[3, 4]]), SHAPE),
        (np.array([0.0, 1.0]), DTYPE),
        (np.array([True, False]), DTYPE),
        (["a", "b"], DTYPE),
        ([0, float("nan")], NAN),
        ([-1, 0], RANGE),
        ([0, K], RANGE),
        ([5, 5], DUPLICATES),
    ],
)
def test_single_env_error_messages(single_envs, action: Any, fragment: str) -> None:
    env, _ = single_envs
    env.reset(seed=SEED)
    with pytest.raises(ValueError, match=re.escape(fragment)):
        env.step(action)


def test_vector_env_refuses_a_single_slate(vector_envs) -> None:
    env, _ = vector_envs
    env.reset(seed=SEED)
    with pytest.raises(ValueError, match=re.escape(f"must have shape ({N}, {S})")):
        env.step(np.array([0, 1]))


# ---------------------------------------------------------------- bad configuration
CHOICE_MODELS = [
    "always_first",
    "exponential_cascade",
    "multinomial_logit",
    "multinomial_proportional",
    "proportional_cascade",
]
ENV_ARGUMENTS = [
    "item_model",
    "user_model",
    "choice_model",
    "response_model",
    "reward",
    "num_candidates",
    "slate_size",
    "max_steps",
]

MAKERS: list[Callable[..., Any]] = [
    lambda env_id, **kwargs: gym.make(env_id, **kwargs),
    lambda env_id, **kwargs: gym.make_vec(env_id, num_envs=2, **kwargs),
]

BAD_CONFIGS = [
    pytest.param(
        ENV_ID, {"choice_model": "softmax"}, ["choice_model: unknown name 'softmax'", *CHOICE_MODELS], id="unknown-part"
    ),
    pytest.param(
        ENV_ID,
        {"choice_model": {"name": "multinomial_logit", "temperature": 2.0}},
        ["unknown parameter(s) ['temperature']", "allowed: ['no_click_mass']"],
        id="unknown-parameter",
    ),
    pytest.param(
        ENV_ID,
        {"choice_model": {"name": "exponential_cascade", "attention_prob": 2}},
        ["attention_prob must be in [0.0, 1.0], got 2"],
        id="attention-prob",
    ),
    pytest.param(
        ENV_ID,
        {"item_model": {"name": "topic_quality", "quality_stddev": -0.1}},
        ["quality_stddev must be a finite number >= 0, got -0.1"],
        id="negative-stddev",
    ),
    pytest.param(
        "RecSimBench/InterestExploration-v0",
        {"item_model": {"name": "topic_lognormal_quality", "topic_probs": [0.5, 0.6]}},
        ["topic_probs must be a non-empty list of non-negative numbers summing to 1"],
        id="probabilities-sum",
    ),
    pytest.param(
        "RecSimBench/InterestExploration-v0",
        {"user_model": {"name": "static_affinity", "user_type_probs": [1.2, -0.2]}},
        ["user_type_probs must be a non-empty list of non-negative numbers"],
        id="negative-probability",
    ),
    pytest.param(ENV_ID, {"num_items": 10}, ["unknown argument(s) ['num_items']", *ENV_ARGUMENTS], id="unknown-kwarg"),
    pytest.param(
        ENV_ID,
        {"num_candidates": 3, "slate_size": 4},
        ["slate_size must be <= num_candidates (3), got 4"],
        id="slate-too-big",
    ),
    pytest.param(ENV_ID, {"num_candidates": 0}, ["num_candidates must be an integer >= 1, got 0"], id="no-candidates"),
    pytest.param(ENV_ID, {"max_steps": 2.5}, ["max_steps must be an integer >= 1, got 2.5"], id="float-max-steps"),
    pytest.param(
        ENV_ID,
        {"user_model": "interest_evolution", "item_model": "clickbait"},
        ["user_model 'interest_evolution' needs item attribute(s) ['quality', 'topic']", "item_model 'clickbait'"],
        id="user-needs-item-attributes",
    ),
    pytest.param(
        "RecSimBench/LongTermSatisfaction-v0",
        {"item_model": "topic_quality"},
        ["user_model 'long_term_satisfaction' needs item attribute(s) ['clickbait']", "item_model 'topic_quality'"],
        id="lts-user-on-videos",
    ),
    pytest.param(
        ENV_ID,
        {"response_model": "engagement", "reward": "engagement"},
        ["response_model 'engagement' needs item attribute(s) ['clickbait']", "item_model 'topic_quality'"],
        id="response-needs-item-attributes",
    ),
    pytest.param(
        ENV_ID,
        {"response_model": "click", "reward": "clicks"},
        ["user_model 'interest_evolution' needs behaviour(s) ['watch_time']", "response_model 'click'"],
        id="user-needs-behaviour",
    ),
    pytest.param(
        ENV_ID,
        {"item_model": {"name": "topic_quality", "num_topics": 10}},
        ["user_model 'interest_evolution' has num_topics=20 but item_model 'topic_quality' has num_topics=10"],
        id="topic-count-mismatch",
    ),
    pytest.param(
        "RecSimBench/InterestExploration-v0",
        {"reward": "watch_time"},
        ["behaviour(s) ['watch_time'] are not produced by the response model", "allowed: ['click']"],
        id="reward-behaviour",
    ),
    pytest.param(
        ENV_ID, {"reward": "dwell"}, ["reward: unknown name 'dwell'", "'clicks'", "'watch_time'"], id="reward-name"
    ),
]


@pytest.mark.parametrize("make", MAKERS, ids=["make", "make_vec"])
@pytest.mark.parametrize("env_id, kwargs, fragments", BAD_CONFIGS)
def test_bad_configuration_is_refused_at_make_time(make, env_id: str, kwargs: dict, fragments: list[str]) -> None:
    with pytest.raises(ValueError) as error:
        make(env_id, **kwargs)
    for fragment in fragments:
        assert fragment in str(error.value)


@settings(max_examples=50, deadline=None)
@given(
    attention_prob=st.floats(allow_nan=True, allow_infinity=True).filter(lambda p: not 0.0 <= p <= 1.0),
    model=st.sampled_from(["exponential_cascade", "proportional_cascade"]),
)
def test_attention_prob_outside_the_unit_interval_is_refused(attention_prob: float, model: str) -> None:
    with pytest.raises(ValueError, match=re.escape(f"choice_model '{model}': attention_prob must be in [0.0, 1.0]")):
        gym.make(ENV_ID, choice_model={"name": model, "attention_prob": attention_prob})


@pytest.mark.parametrize("value", ["0.5", None, [0.5]])
def test_non_numeric_parameter_is_refused_with_value_error(value: Any) -> None:
    with pytest.raises(ValueError, match="attention_prob"):
        gym.make(ENV_ID, choice_model={"name": "exponential_cascade", "attention_prob": value})


# ---------------------------------------------------------------- SlateSpace
def _distinct_rows(x: np.ndarray) -> bool:
    rows = x.reshape(-1, x.shape[-1])
    return all(len(set(row.tolist())) == len(row) for row in rows)


@st.composite
def space_sizes(draw: st.DrawFn) -> tuple[int, int]:
    num_candidates = draw(st.integers(1, 30))
    return num_candidates, draw(st.integers(1, num_candidates))


@settings(max_examples=50, deadline=None)
@given(sizes=space_sizes(), seed=st.integers(0, 2**32 - 1))
def test_slate_space_sample_never_repeats_a_candidate(sizes: tuple[int, int], seed: int) -> None:
    num_candidates, slate_size = sizes
    space = SlateSpace(num_candidates, slate_size, seed=seed)
    for _ in range(5):
        slate = space.sample()
        assert slate.shape == (slate_size,) and slate.dtype == np.int64
        assert np.all((0 <= slate) & (slate < num_candidates))
        assert _distinct_rows(slate)
        assert space.contains(slate)


@settings(max_examples=50, deadline=None)
@given(sizes=space_sizes(), batch=st.integers(1, 6), seed=st.integers(0, 2**32 - 1))
def test_batched_slate_space_samples_distinct_rows(sizes: tuple[int, int], batch: int, seed: int) -> None:
    num_candidates, slate_size = sizes
    space = SlateSpace(num_candidates, slate_size, batch=batch, seed=seed)
    slates = space.sample()
    assert slates.shape == (batch, slate_size) and slates.dtype == np.int64
    assert np.all((0 <= slates) & (slates < num_candidates))
    assert _distinct_rows(slates)
    assert space.contains(slates)


@settings(max_examples=50, deadline=None)
@given(data=st.data(), sizes=space_sizes().filter(lambda s: s[1] >= 2), batch=st.none() | st.integers(1, 4))
def test_slate_space_contains_rejects_duplicates(
    data: st.DataObject, sizes: tuple[int, int], batch: int | None
) -> None:
    num_candidates, slate_size = sizes
    space = SlateSpace(num_candidates, slate_size, batch=batch, seed=data.draw(st.integers(0, 2**32 - 1)))
    slates = space.sample()
    row = slates.reshape(-1, slate_size)[data.draw(st.integers(0, (batch or 1) - 1))]
    source, target = data.draw(st.lists(st.integers(0, slate_size - 1), min_size=2, max_size=2, unique=True))
    row[target] = row[source]
    assert not space.contains(slates)


@pytest.mark.parametrize(
    "x, expected",
    [
        (np.array([0, 4, 2], dtype=np.int64), True),
        (np.array([4, 2, 4], dtype=np.int64), False),
        (np.array([0, 5, 2], dtype=np.int64), False),
        (np.array([0, -1, 2], dtype=np.int64), False),
        (np.array([0, 1], dtype=np.int64), False),
        (np.array([[0, 1, 2]], dtype=np.int64), False),
    ],
    ids=["valid", "duplicate", "too-large", "negative", "short", "extra-axis"],
)
def test_slate_space_contains(x: np.ndarray, expected: bool) -> None:
    assert SlateSpace(5, 3).contains(x) is expected


def test_slate_space_sample_refuses_masks() -> None:
    with pytest.raises(ValueError, match="mask and probability are not supported"):
        SlateSpace(5, 3).sample(mask=np.ones(5, dtype=np.int8))
