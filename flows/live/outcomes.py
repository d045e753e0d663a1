"""Outcome files: the id, the label and optionally when it was observed, checked like ``ingest``.

Outcomes arrive weeks after the rows were scored, in CSV or Parquet files holding the
contract's id column, its label column and optionally ``observed_at`` (ISO 8601).
Every file is read and every row checked before anything is stored: a missing column,
a missing id or label, a label the contract does not know (with ``positive_label``,
any value the stored rows never hold), or an id given twice is refused in one line. Whether the ids were scored, and whether they already have an
outcome, the score log checks as it stores them (all or nothing).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from flows.data.columns import check_ids, parse_times, require_columns
from flows.data.files import read_tables
from flows.errors import ConfigError, DataValidationError
from flows.live.score_log import OUTCOME_COLUMNS, conform_outcomes, refused_outcomes

if TYPE_CHECKING:
    from collections.abc import Collection, Sequence
    from pathlib import Path

    import pandas as pd

    from flows.data.contract import DataContract

OBSERVED_AT: Final = "observed_at"
"""The optional column of an outcome file: when the outcome was observed."""


def read_outcomes(
    paths: Sequence[Path], contract: DataContract, *, stored_labels: Collection[str] = ()
) -> pd.DataFrame:
    """The outcomes in ``paths`` as :data:`~flows.live.score_log.OUTCOME_COLUMNS`, checked.

    Args:
        stored_labels: The labels the stored rows hold, as written
            (``DataSource.label_values``). With ``positive_label`` every value but the
            positive one reads as a negative, so a value outside these (and not the
            positive one) is refused, not taken for a negative. Empty: not checked.

    Raises:
        ConfigError: without ``[data] id_column`` (outcomes join scores by id).
        DataValidationError: naming the file, the column and the problem.
    """
    import pandas as pd

    if contract.id_column is None:
        raise ConfigError(
            "Outcomes join the score log by id: set id_column in [data] (live mode needs it)."
        )
    data, _ = read_tables(list(paths), text_columns=[contract.id_column])
    input_name = "outcomes" if len(paths) > 1 else str(paths[0])
    require_columns(data, [contract.id_column, contract.label], input_name)
    check_ids(data[contract.id_column], contract.id_column, input_name)
    labels = contract.binary_labels(data[contract.label], input_name)
    if contract.positive_label is not None and stored_labels:
        refuse_unknown_labels(data[contract.label], contract, stored_labels, input_name)
    observed = pd.Series([""] * len(data), dtype=object)
    if OBSERVED_AT in data.columns:
        times = parse_times(data[OBSERVED_AT], OBSERVED_AT, input_name)
        observed = pd.Series([t.isoformat() + "+00:00" for t in times], dtype=object)
    outcomes = conform_outcomes(
        pd.DataFrame(
            dict(zip(OUTCOME_COLUMNS, (data[contract.id_column], labels, observed), strict=True))
        )
    )
    repeated = outcomes["id"][outcomes["id"].duplicated()].unique().tolist()
    if repeated:
        raise refused_outcomes(f"repeat an id in {input_name}", repeated)
    return outcomes


def refuse_unknown_labels(
    labels: pd.Series, contract: DataContract, stored: Collection[str], input_name: str
) -> None:
    """Refuse labels neither the stored rows nor ``positive_label`` hold, in one line.

    Raises:
        DataValidationError: how many rows, an example, and the labels known.
    """
    known = {*map(str, stored), str(contract.positive_label)}
    text = labels.astype(str)
    unknown = text[~text.isin(known)]
    if unknown.empty:
        return
    raise DataValidationError(
        f"Column {contract.label!r} in {input_name} has {len(unknown)} label(s) the stored data "
        f"never holds (e.g. {unknown.iloc[0]!r}; it holds {', '.join(map(repr, sorted(known)))}); "
        "nothing was stored.",
        column=contract.label,
        expected=sorted(known),
        got=sorted(set(unknown))[:5],
    )
