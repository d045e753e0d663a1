"""The live test's path as text: z at each look against the boundary it had to reach.

Pure functions, shown by ``ccflows review``, the review flow's artifact and
``ccflows report``: a table of the looks with a bar per look, ``●`` where z stands
and ``┃`` where the boundary is, on one axis for all looks, so the path reads at a
glance in a terminal and in the Prefect UI alike.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import ccpolicy
    from flows.live.review import ReviewResult

WIDTH = 32
"""Characters of one look's bar."""


def looks_chart(looks: Sequence[ccpolicy.Look]) -> str:
    """Markdown: one row per look with its numbers and a bar of z against the boundary.

    Example:
        >>> from ccpolicy import Look
        >>> print(looks_chart([Look(1, 0.5, 1.0, 0.005, 2.8)]).splitlines()[2])
        | 1 | 50% | 1.00 | 2.80 | 0.005 | `·········●···············┃····` |
    """
    if not looks:
        return "_No look taken yet._"
    finite = [v for look in looks for v in (look.z, look.boundary) if math.isfinite(v)]
    low, high = min(0.0, *finite), max(1.0, *finite) + 0.5  # room to the right of the boundary
    lines = [
        "| look | information | z | boundary | alpha spent | z ● against the boundary ┃ |",
        "|---:|---:|---:|---:|---:|:---|",
    ]
    for look in looks:
        bar = ["·"] * (WIDTH - 2)
        _mark(bar, look.boundary, low, high, "┃")
        _mark(bar, look.z, low, high, "●")
        lines.append(
            f"| {look.number} | {look.information:.0%} | {look.z:.2f} | {look.boundary:.2f} | "
            f"{look.alpha_spent:.3g} | `{''.join(bar)}` |"
        )
    return "\n".join(lines)


def _mark(bar: list[str], value: float, low: float, high: float, symbol: str) -> None:
    """Put ``symbol`` where ``value`` falls on the axis from ``low`` to ``high`` (clamped)."""
    if math.isnan(value):
        return
    clamped = min(max(value, low), high)
    bar[round((clamped - low) / (high - low) * (len(bar) - 1))] = symbol


def review_markdown(result: ReviewResult, *, model_name: str) -> str:
    """The review's report: what the look did, on which rows, and the test's path so far."""
    test = result.candidate
    outcome = result.outcome.value if result.outcome else "no look"
    recorded = (
        f"ledger entry #{result.entry.id}"
        if result.entry is not None
        else "nothing recorded" + (" (dry run)" if result.dry_run else "")
    )
    return "\n".join(
        [
            f"# {model_name}: live review of {test.version}, {outcome}",
            "",
            f"**{outcome}** ({recorded}): {result.reason}",
            "",
            f"- candidate `{test.version}` against champion `{test.champion_version}`, "
            f"{test.mode} since period {test.since_period}",
            f"- matured rows: {result.rows:,} (scored up to period {result.through_period})",
            "",
            looks_chart(result.looks),
        ]
    )
