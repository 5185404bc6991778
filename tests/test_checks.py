"""recsim_bench.checks: the argument checks every layer shares."""

from __future__ import annotations

import re

import numpy as np
import pytest

from recsim_bench.checks import check_integer, check_number, is_integer, is_number


@pytest.mark.parametrize("value", [0, 7, -3, np.int64(5), np.uint64(2**64 - 1), np.int8(-1), 2**80])
def test_integers_are_integers(value):
    assert is_integer(value)
    assert is_number(value)


@pytest.mark.parametrize("value", [True, False, np.bool_(True), 1.0, np.float64(2.0), "1", None, [1], np.array([1])])
def test_bools_floats_and_containers_are_not_integers(value):
    assert not is_integer(value)


@pytest.mark.parametrize("value", [True, np.bool_(False), "1.5", None, [1.0], complex(1, 0)])
def test_bools_strings_and_containers_are_not_numbers(value):
    assert not is_number(value)


def test_check_integer_returns_a_python_int():
    value = check_integer(np.int32(4), "n", 1)
    assert value == 4 and type(value) is int
    assert check_integer(0, "eval_seed", 0) == 0  # the bound itself is allowed
    assert check_integer(2**62 - 1, "user", 0, 2**62) == 2**62 - 1


@pytest.mark.parametrize("value", [0, -1, True, 1.0, "2", None, np.float32(3.0)])
def test_check_integer_names_the_argument_and_the_bound(value):
    with pytest.raises(ValueError, match=re.escape(f"num_envs must be an integer >= 1, got {value!r}")):
        check_integer(value, "num_envs", 1)


@pytest.mark.parametrize(
    "high, value, message",
    [
        (10, 10, "k must be an integer in [0, 10), got 10"),
        (2**62, 2**62, "k must be an integer in [0, 2**62), got 4611686018427387904"),
        (2**64, -1, "k must be an integer in [0, 2**64), got -1"),
        (2**16, 2**16, "k must be an integer in [0, 65536), got 65536"),  # small powers of two in digits
        (3 * 2**40, True, f"k must be an integer in [0, {3 * 2**40}), got True"),  # not a power of two
    ],
)
def test_check_integer_with_an_upper_bound(high, value, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        check_integer(value, "k", 0, high)


def test_check_number_accepts_integers_and_floats_as_float():
    assert check_number(3, "x") == 3.0 and type(check_number(3, "x")) is float
    assert check_number(np.float32(0.5), "x") == 0.5
    assert np.isnan(check_number(float("nan"), "x"))  # finiteness is the caller's rule


@pytest.mark.parametrize("value", [True, "0.5", None, [0.5]])
def test_check_number_refuses_non_numbers(value):
    with pytest.raises(ValueError, match=re.escape(f"weight must be a number, got {value!r}")):
        check_number(value, "weight")
