"""What crosses between the warehouse and the worker in a Snowpark session, counted in cells.

The meter sits in the connector, under Snowpark: ``SnowflakeConnection.cmd_query``
sees every statement the worker sends and every result it gets back, whatever
asked for it (``collect``, ``to_pandas``, ``count``, the ML client's ``SHOW``
statements, a procedure's return value). A result counts its rows × its columns;
describe-only requests (Snowpark asking for a query's columns) bring no rows and
count nothing. Frames sent up through ``Session.write_pandas`` (and so
``create_dataframe`` of a pandas frame) count their rows × columns upwards; the
file transfer underneath them is not counted again. Bind values of single
statements are not counted: they are the statement's parameters, not data.

A test then asserts what a piece of work brought down::

    traffic = watch(session)
    with traffic.window() as seen:
        run_the_stage(session)
    assert seen.cells_down() <= holdout_rows * 3
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from snowflake.snowpark import Session

Direction = Literal["down", "up"]


@dataclass(frozen=True)
class Transfer:
    """One statement's crossing: its text as the worker sent it and the rows × columns moved."""

    statement: str
    rows: int
    columns: int
    direction: Direction = "down"

    @property
    def cells(self) -> int:
        return self.rows * self.columns


@dataclass
class Traffic:
    """Every statement of one session, in order, with what each moved."""

    transfers: list[Transfer] = field(default_factory=list)

    @property
    def statements(self) -> list[str]:
        """The statements sent, in order, as the worker wrote them (uploads excluded)."""
        return [t.statement for t in self.transfers if t.direction == "down"]

    def downloads(self) -> list[Transfer]:
        """The statements that brought at least one row down."""
        return [t for t in self.transfers if t.direction == "down" and t.rows]

    def cells_down(self) -> int:
        return sum(t.cells for t in self.downloads())

    def cells_up(self) -> int:
        return sum(t.cells for t in self.transfers if t.direction == "up")

    @contextlib.contextmanager
    def window(self) -> Iterator[Traffic]:
        """A view of the transfers made inside the ``with`` block only."""
        seen = Traffic()
        start = len(self.transfers)
        try:
            yield seen
        finally:
            seen.transfers = self.transfers[start:]


def watch(session: Session) -> Traffic:
    """Meter ``session`` from now on (idempotent) and return its traffic.

    Works on any Snowpark session over the real connector: fakesnow's or an account's.
    """
    connection = session.connection
    traffic = getattr(connection, "_cc_traffic", None)
    if traffic is not None:
        return traffic
    traffic = Traffic()
    send = connection.cmd_query
    write_pandas = session.write_pandas

    def metered_query(sql: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
        answer = send(sql, *args, **kwargs)
        rows, columns = _result_size(answer)
        traffic.transfers.append(Transfer(sql, rows, columns))
        return answer

    def metered_write_pandas(df: Any, table_name: str, *args: Any, **kwargs: Any) -> Any:
        traffic.transfers.append(
            Transfer(f"write_pandas {table_name}", len(df), len(df.columns), "up")
        )
        return write_pandas(df, table_name, *args, **kwargs)

    connection.cmd_query = metered_query
    session.write_pandas = metered_write_pandas
    connection._cc_traffic = traffic
    return traffic


def _result_size(answer: dict[str, Any]) -> tuple[int, int]:
    """Rows × columns of a ``query-request`` answer; 0 × n when it carried no rows."""
    data = answer.get("data") or {}
    if not answer.get("success") or data.get("command"):  # a failure, or a PUT/GET's stage info
        return 0, 0
    return int(data.get("total") or 0), len(data.get("rowtype") or ())
