"""Group-sequential boundaries by alpha spending: Lan–DeMets O'Brien–Fleming type, exact.

A one-sided test looks at a z statistic at information fractions ``t_1 < t_2 < ...``
(matured rows over planned rows). Under the null hypothesis ``Z_k sqrt(t_k)`` is a
Brownian motion at times ``t_k``, so the joint law of the looks is known, and the
boundary of look k is the z whose crossing probability, on the paths that crossed no
earlier boundary, is the alpha newly spent at look k. That probability is computed by
the standard recursive numerical integration (Armitage, McPherson & Rowe 1969;
Jennison & Turnbull 2000, chapter 19): the sub-density of ``Z_k`` on the paths still
running, on a grid, Simpson's rule, one convolution per look. scipy is imported on
first use only, so ``import ccpolicy`` stays light.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import lru_cache

import numpy as np

_REACH = 9.0
"""The grid spans the drifted mean ± this many standard deviations (mass beyond: ~1e-19)."""
_STEP = 0.025
"""Largest grid step in z; a finer one is used when looks are close together."""
_HIGHEST_BOUNDARY = 40.0
"""Boundaries are searched up to this z; beyond it no alpha is left to spend."""


def obrien_fleming_spent(information: float, alpha: float) -> float:
    """Alpha spent by the Lan–DeMets O'Brien–Fleming-type function at information ``t``.

    ``alpha(t) = 2 (1 - Phi(z_{1 - alpha/2} / sqrt(t)))``: almost nothing early, all of
    ``alpha`` at ``t = 1``.

    Example:
        >>> round(obrien_fleming_spent(1.0, 0.025), 6), obrien_fleming_spent(0.2, 0.025) < 1e-5
        (0.025, True)
    """
    from scipy.special import ndtr, ndtri

    t = min(max(float(information), 0.0), 1.0)
    if t == 0:
        return 0.0
    return float(2.0 * (1.0 - ndtr(ndtri(1.0 - alpha / 2.0) / math.sqrt(t))))


def next_boundary(
    earlier: Sequence[tuple[float, float]], information: float, spend: float
) -> float:
    """The z boundary of the next look that spends ``spend`` more alpha under the null.

    Args:
        earlier: ``(information, boundary)`` of every earlier look, in order, the
            boundaries as they were applied (``inf`` for a look that spent nothing).
        information: This look's information fraction, above the last earlier one.
        spend: The alpha newly spent at this look (``inf`` is returned for <= 0).

    Returns:
        The boundary: the statistic crosses it, having crossed no earlier one, with
        probability ``spend`` when the null hypothesis holds.
    """
    return _next_boundary(
        tuple((float(t), float(b)) for t, b in earlier), float(information), float(spend)
    )


def crossing_probabilities(
    informations: Sequence[float], boundaries: Sequence[float], *, drift: float = 0.0
) -> np.ndarray:
    """Probability of first crossing each look's boundary (their sum: of ever crossing).

    Args:
        informations: Information fractions of the looks, increasing.
        boundaries: The z boundary of each look.
        drift: Expected z at information 1 (0 is the null hypothesis; the power of
            a design is the sum under its alternative's drift).

    Example:
        >>> p = crossing_probabilities([1.0], [1.959964])
        >>> round(float(p.sum()), 4)
        0.025
    """
    from scipy.special import ndtr

    grid = weights = density = None
    previous = 0.0
    result = []
    for t, b in zip(informations, boundaries, strict=True):
        if grid is None:
            result.append(float(ndtr(drift * math.sqrt(t) - b)))
        else:
            result.append(_crossing(grid, weights, density, previous, t, b, drift))
        grid, weights, density = _continuing(grid, weights, density, previous, t, b, drift)
        previous = t
    return np.array(result)


@lru_cache(maxsize=4096)
def _next_boundary(
    earlier: tuple[tuple[float, float], ...], information: float, spend: float
) -> float:
    """Cached core of :func:`next_boundary` (a test's looks share their history)."""
    from scipy.optimize import brentq
    from scipy.special import ndtri

    if spend <= 0:
        return math.inf
    if not earlier:
        return float(-ndtri(spend)) if spend < 1 else -math.inf
    grid = weights = density = None
    previous = 0.0
    for t, b in earlier:
        grid, weights, density = _continuing(grid, weights, density, previous, t, b, 0.0)
        previous = t

    def excess(boundary: float) -> float:
        return _crossing(grid, weights, density, previous, information, boundary, 0.0) - spend

    if excess(_HIGHEST_BOUNDARY) >= 0:
        return _HIGHEST_BOUNDARY
    low = -_HIGHEST_BOUNDARY
    if excess(low) <= 0:
        return low
    return float(brentq(excess, low, _HIGHEST_BOUNDARY, xtol=1e-10, rtol=1e-12))


def _crossing(
    grid: np.ndarray,
    weights: np.ndarray,
    density: np.ndarray,
    t_before: float,
    t: float,
    boundary: float,
    drift: float,
) -> float:
    """P(not crossed before, Z at ``t`` >= boundary) from the continuing sub-density."""
    from scipy.special import ndtr

    step = t - t_before
    upper = (grid * math.sqrt(t_before) + drift * step - boundary * math.sqrt(t)) / math.sqrt(step)
    return float(np.sum(weights * density * ndtr(upper)))


def _continuing(
    grid: np.ndarray | None,
    weights: np.ndarray | None,
    density: np.ndarray | None,
    t_before: float,
    t: float,
    boundary: float,
    drift: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The sub-density of Z at ``t`` on the paths below every boundary up to and at ``t``."""
    centre = drift * math.sqrt(t)
    width = 1.0 if grid is None else math.sqrt((t - t_before) / t)
    step = min(_STEP, width / 3.0)
    top = min(boundary, centre + _REACH)
    bottom = centre - _REACH
    if top <= bottom:
        return np.array([bottom, bottom]), np.zeros(2), np.zeros(2)
    new_grid, new_weights = _simpson(bottom, top, step)
    if grid is None:
        new_density = np.exp(-0.5 * (new_grid - centre) ** 2) / math.sqrt(2 * math.pi)
        return new_grid, new_weights, new_density
    increment = t - t_before
    scale = math.sqrt(increment)
    # kernel[i, j]: density of Z_t = new_grid[i] given Z_before = grid[j] (Brownian increment).
    shifted = (
        new_grid[:, None] * math.sqrt(t) - grid[None, :] * math.sqrt(t_before) - drift * increment
    ) / scale
    kernel = np.exp(-0.5 * shifted**2) * (math.sqrt(t) / (scale * math.sqrt(2 * math.pi)))
    return new_grid, new_weights, kernel @ (weights * density)


def _simpson(low: float, high: float, step: float) -> tuple[np.ndarray, np.ndarray]:
    """An odd number of equally spaced points on [low, high] and their Simpson weights."""
    intervals = max(2, math.ceil((high - low) / step))
    intervals += intervals % 2
    grid = np.linspace(low, high, intervals + 1)
    h = (high - low) / intervals
    weights = np.full(grid.size, 2.0)
    weights[1::2] = 4.0
    weights[0] = weights[-1] = 1.0
    return grid, weights * h / 3.0
