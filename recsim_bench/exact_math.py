"""Elementary functions that give the same bits on every machine.

numpy chooses SIMD kernels for ``exp``, ``log``, ``cos``, ``power`` (and scipy's ``expit`` calls the
platform's libm) by the CPU it runs on, and none of them is correctly rounded, so the same call can
differ in the last bit between two machines, and a simulator that feeds such a bit back into its
dynamics drifts apart. The functions here use only operations that IEEE 754 defines exactly:
``+ - * /``, ``sqrt``, comparisons, ``rint``, integer operations on the bits (to take a number's
exponent apart or build ``2**k``) and selection; every one of them is a separate numpy ufunc call on
float64 arrays, so no compiler can fuse a multiply and an add into an FMA. Their constants are rationals rounded by Python's correctly
rounded integer division, or hexadecimal literals. Each result is therefore a fixed function of its
input bits, on any IEEE-754 machine and any numpy, in IEEE's default environment: rounding to nearest,
and subnormal numbers kept (a library built with ``-ffast-math`` can switch on flush-to-zero when it is
imported; ``tests/test_determinism.py`` checks that nothing did).

The approximations are textbook ones. ``exp`` and ``log`` are within 2 units in the last place of the
correctly rounded value; ``cos_turns`` within about 1e-15 in absolute terms; ``power`` and ``expit``
inherit the error of ``exp`` and ``log`` (``power`` loses about ``|exponent * log(base)|`` units):

- ``exp``: Cody-Waite reduction ``x = k ln 2 + r`` with ``|r| <= ln(2) / 2`` and ln 2 split in two so
  that ``k * ln2_hi`` is exact, then the (6, 6) Padé approximant of ``exp(r)``, ``P(r) / P(-r)``
  (Baker and Graves-Morris, *Padé Approximants*, 1996; error below 1e-18 on that interval), times
  ``2**k`` as two factors so that only the last product rounds (to a subnormal, 0 or ``inf``).
- ``log`` (and ``log_ordinary``, for inputs known to be positive, finite and normal): ``x = m 2**e`` with ``m`` in ``[sqrt(1/2), sqrt(2)]``, ``s = (m - 1) / (m + 1)`` and
  ``log(m) = 2 atanh(s) = 2 (s + s**3 / 3 + s**5 / 5 + ...)`` to ``s**21`` (``|s| <= 0.172``).
- ``cos_turns``: ``cos(2 pi t)`` by exact reduction of ``t`` to ``[0, 1/4]`` turns and the Taylor
  series of ``cos`` to ``z**20`` on ``[0, pi/2]``.
"""

from __future__ import annotations

from math import factorial

import numpy as np
from numpy.typing import ArrayLike, NDArray

_LOG2E = float.fromhex("0x1.71547652b82fep+0")
_LN2_HI = float.fromhex("0x1.62e4200000000p-1")  # 21 significant bits: k * _LN2_HI is exact for |k| < 2**32
_LN2_LO = float.fromhex("0x1.fdf473de6af28p-22")  # ln 2 - _LN2_HI, rounded
_TWO_PI = float.fromhex("0x1.921fb54442d18p+2")
_SMALLEST_NORMAL = float.fromhex("0x1p-1022")
_MANTISSA = np.int64(2**52 - 1)
_ONE = np.int64(1023 << 52)  # the bits of 1.0
_SQRT2_MANTISSA = np.int64(0x6A09E667F3BCD)  # the mantissa bits of sqrt(2), rounded

# P(x) = sum_j (12 - j)! 6! / (12! j! (6 - j)!) x**j, split into its even and odd parts (in x**2).
_PADE = [factorial(12 - j) * factorial(6) / (factorial(12) * factorial(j) * factorial(6 - j)) for j in range(7)]
_PADE_EVEN = _PADE[6::-2]  # highest power first, for Horner's rule
_PADE_ODD = _PADE[5::-2]
_ATANH = [2 / (2 * k + 1) for k in range(10, -1, -1)]  # 2 s**(2k+1) / (2k+1), highest first
_COS = [(-1) ** k / factorial(2 * k) for k in range(10, -1, -1)]


def _horner(coefficients: list[float], x: NDArray[np.float64]) -> NDArray[np.float64]:
    """``sum_k c_k x**k`` with ``coefficients`` from the highest power down."""
    total = coefficients[0] * x
    total += coefficients[1]
    for coefficient in coefficients[2:]:
        total *= x
        total += coefficient
    return total


def _powers_of_two(k: NDArray[np.int64]) -> NDArray[np.float64]:
    """``2.0 ** k`` for ``k`` in ``[-1022, 1023]``, built from the exponent bits (faster than ``ldexp``)."""
    return ((k + 1023) << 52).view(np.float64)


def exp(x: ArrayLike) -> NDArray[np.float64]:
    """``e**x``; overflows to ``inf`` above about 709.78 and underflows to 0 below about -745.1."""
    x = np.minimum(np.maximum(np.asarray(x, dtype=np.float64), -746.0), 710.0)  # beyond these: 0 or inf
    k = np.rint(x * _LOG2E)
    r = x - k * _LN2_HI
    r -= k * _LN2_LO
    r2 = r * r
    even = _horner(_PADE_EVEN, r2)
    odd = _horner(_PADE_ODD, r2)
    odd *= r
    result = even + odd
    result /= even - odd
    with np.errstate(invalid="ignore"):  # nan: any scale will do, the result stays nan
        k = k.astype(np.int64)
    half = k >> 1  # two factors, so that each is a normal number and only the last product rounds
    result *= _powers_of_two(half)
    with np.errstate(over="ignore"):  # above about 709.78 the result is inf
        result *= _powers_of_two(k - half)
    return result


def log_ordinary(x: ArrayLike) -> NDArray[np.float64]:
    """:func:`log` of ``x`` known to be ordinary: positive, finite and normal (at least ``2**-1022``).

    The same bits as :func:`log` there, without its three passes over ``x`` for the special values;
    for any other ``x`` the result is meaningless (e.g. ``log_ordinary(0.0)`` is finite). Uniforms in
    ``(0, 1)`` such as :func:`recsim_bench.rng.uniforms` gives are ordinary.
    """
    x = np.asarray(x, dtype=np.float64)
    bits = x.view(np.int64)
    exponent = (bits >> 52) - 1023
    big = (bits & _MANTISSA) > _SQRT2_MANTISSA  # mantissa above sqrt(2): use m / 2 and exponent + 1
    exponent += big
    mantissa = ((bits & _MANTISSA) | (_ONE - (big.astype(np.int64) << 52))).view(np.float64)  # in [sqrt(1/2), sqrt(2)]
    s = mantissa - 1.0  # exact
    s /= mantissa + 1.0
    result = _horner(_ATANH, s * s)
    result *= s
    e = exponent.astype(np.float64)
    result += e * _LN2_LO
    result += e * _LN2_HI
    return result


def log(x: ArrayLike) -> NDArray[np.float64]:
    """Natural logarithm: ``-inf`` at 0, ``nan`` below 0, ``inf`` at ``inf``."""
    x = np.asarray(x, dtype=np.float64)
    ordinary = (x >= _SMALLEST_NORMAL) & (x < np.inf)
    if ordinary.all():
        return log_ordinary(x)
    subnormal = (x > 0.0) & (x < _SMALLEST_NORMAL)
    scaled = np.where(ordinary, x, 1.0)
    np.multiply(x, 2.0**54, out=scaled, where=subnormal)  # now normal: log(x) = log(scaled) - 54 ln 2
    result = log_ordinary(scaled)
    result -= subnormal * (54.0 * _LN2_LO)
    result -= subnormal * (54.0 * _LN2_HI)
    special = np.where(x == 0.0, -np.inf, np.where(x == np.inf, np.inf, np.nan))
    return np.where(ordinary | subnormal, result, special)


def power(base: ArrayLike, exponent: ArrayLike) -> NDArray[np.float64]:
    """``base ** exponent`` for ``base >= 0`` (``0 ** 0`` and ``1 ** inf`` are 1), as ``exp(exponent * log(base))``."""
    base, exponent = np.broadcast_arrays(np.asarray(base, dtype=np.float64), np.asarray(exponent, dtype=np.float64))
    if np.any(base < 0.0):
        raise ValueError("power: base must be >= 0")
    with np.errstate(invalid="ignore"):
        result = exp(exponent * log(base))
    return np.where((exponent == 0.0) | (base == 1.0), 1.0, result)


def expit(x: ArrayLike) -> NDArray[np.float64]:
    """The logistic sigmoid ``1 / (1 + e**-x)``, without overflow for large ``|x|``."""
    x = np.asarray(x, dtype=np.float64)
    e = exp(-np.abs(x))  # in (0, 1]
    return np.where(x >= 0.0, 1.0 / (1.0 + e), e / (1.0 + e))


def cos_turns(t: ArrayLike) -> NDArray[np.float64]:
    """``cos(2 pi t)``: ``t`` in turns, so that the reduction to a quarter turn is exact."""
    t = np.asarray(t, dtype=np.float64)
    w = np.abs(t - np.rint(t))  # in [0, 1/2], exact
    flip = w > 0.25  # cos(2 pi w) = -cos(2 pi (1/2 - w)); multiplying by the flags is exact and not branchy
    w += flip * (0.5 - 2.0 * w)  # 1/2 - w where flipped, exact for w in [1/4, 1/2]
    z = _TWO_PI * w
    result = _horner(_COS, z * z)
    result *= 1.0 - 2.0 * flip
    return result
