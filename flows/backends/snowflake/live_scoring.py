"""Warehouse scoring under a live test: the arm of each id and both models, all in SQL.

The rows never leave the warehouse. In ``split`` mode the arm predicate
(:func:`~flows.live.assignment.candidate_arm_sql`, the same hash as Python's) splits
the rows, each arm's model scores its own, and the two are stacked; in ``shadow`` mode
the champion scores every row and the candidate scores the same rows beside it. Each
row gets its period from the data source's own period expression.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from flows.identifiers import sql_literal
from flows.live.assignment import CANDIDATE_ARM, CHAMPION_ARM, candidate_arm_sql
from flows.live.settings import SPLIT

if TYPE_CHECKING:
    from snowflake.snowpark import DataFrame

    from flows.live.candidate import Candidate

ID: Final = "ID"
"""Output column under a live test: the row's id."""
PERIOD: Final = "PERIOD"
"""Output column under a live test: the period the row was scored in."""
ARM: Final = "ARM"
"""Output column under a live test: ``champion`` or ``candidate``, the arm that decided."""
CANDIDATE_PROBABILITY: Final = "CANDIDATE_PROBABILITY"
"""Output column in shadow mode: the candidate's probability beside the champion's."""


def live_scores(
    inputs: DataFrame,
    test: Candidate,
    *,
    id_column: str,
    run: Any,
    probability: str,
    model_version: str,
) -> list[DataFrame]:
    """The deciding probability and version of every row of ``inputs``, with its id, period and arm.

    Split mode gives one frame per arm, shadow mode one frame: the caller writes them to
    one table one after the other (no ``UNION``, which not every engine plans alike).

    Args:
        inputs: The id column, ``PERIOD`` and the features, as the models read them.
        test: The open live test.
        id_column: The id column's name in ``inputs`` as Snowpark names it (from the
            table's own schema: a plain or quoted identifier, safe in SQL).
        run: ``run(version, frame)`` scores ``frame`` in the warehouse, returning it
            with the probability of the positive class as its last column.
        probability: The output column of the deciding probability.
        model_version: The output column of the deciding version.
    """
    from snowflake.snowpark import functions as sf

    rows = inputs
    head = [sf.col(id_column).alias(ID), sf.col(PERIOD)]

    def scored(version: str, frame: DataFrame, arm: str) -> DataFrame:
        out = run(version, frame)
        return out.select(
            *head,
            sf.lit(arm).alias(ARM),
            sf.col(out.columns[-1]).alias(probability),
            sf.lit(version).alias(model_version),
        )

    if test.mode == SPLIT:
        predicate = sf.sql_expr(
            candidate_arm_sql(id_column, salt_literal=sql_literal(test.salt), share=test.share)
        )
        champion = scored(test.champion_version, rows.filter(~predicate), CHAMPION_ARM)
        candidate = scored(test.version, rows.filter(predicate), CANDIDATE_ARM)
        return [champion, candidate]
    first = run(test.champion_version, rows)
    champion = first.select(
        *[sf.col(c) for c in rows.columns], sf.col(first.columns[-1]).alias(probability)
    )
    both = run(test.version, champion)
    return [
        both.select(
            *head,
            sf.lit(CHAMPION_ARM).alias(ARM),
            sf.col(probability),
            sf.lit(test.champion_version).alias(model_version),
            sf.col(both.columns[-1]).alias(CANDIDATE_PROBABILITY),
        )
    ]
