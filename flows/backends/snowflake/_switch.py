"""Planning a switch of the Snowflake model's pointers: which statements, in which order.

Snowflake runs every DDL statement in its own transaction, so moving the aliases,
tags and default version cannot be atomic. The plan makes it safe instead: the
aliases move first, then the challenger tag, then the default version, and the
``LIVE_VERSION`` tag, which inference follows, moves last: it is the commit point.
Restoring runs the same groups in reverse, ``LIVE_VERSION`` first. The statements
are the ones the Snowflake ML client issues, so a printed repair is exactly what
the client would have sent.
"""

from __future__ import annotations

import enum
from collections.abc import Collection
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from flows.errors import (
    AlreadyChampionError,
    LockLostError,
    PromotionIncompleteError,
    RegistryError,
    SwitchFailedError,
)
from flows.identifiers import check_dollar_quotable
from flows.names import CHALLENGER, CHALLENGER_VERSION, CHAMPION, LIVE_VERSION

ALIAS_FIELD = {CHAMPION: "champion", CHALLENGER: "challenger"}
"""The :class:`Pointers` field of each alias."""
TAG_FIELD = {CHALLENGER_VERSION: "challenger_tag", LIVE_VERSION: "live"}
"""The :class:`Pointers` field of each tag."""


@dataclass(frozen=True)
class Pointers:
    """The model's pointers at one moment: what each alias and tag names, and the default."""

    champion: str | None = None
    """Version holding the CHAMPION alias."""
    challenger: str | None = None
    """Version holding the CHALLENGER alias."""
    challenger_tag: str | None = None
    """Value of the CHALLENGER_VERSION tag."""
    default: str | None = None
    """The model's default version."""
    live: str | None = None
    """Value of the LIVE_VERSION tag: what inference reads."""

    def with_challenger(self, name: str) -> Pointers:
        """These pointers with CHALLENGER and its tag on ``name``.

        Raises:
            AlreadyChampionError: ``name`` is the champion; a version holds one alias at most.
        """
        if self.champion == name:
            raise AlreadyChampionError(
                f"Version {name} is the champion; it cannot also be the challenger."
            )
        return replace(self, challenger=name, challenger_tag=name)

    def without_challenger(self, name: str) -> Pointers:
        """These pointers with CHALLENGER and its tag taken off ``name``, where it holds them."""
        return replace(
            self,
            challenger=None if self.challenger == name else self.challenger,
            challenger_tag=None if self.challenger_tag == name else self.challenger_tag,
        )

    def describe(self) -> str:
        """``CHAMPION=V1, CHALLENGER=V2, CHALLENGER_VERSION=V2, default=V1, LIVE_VERSION=V1``."""
        return (
            f"{CHAMPION}={self.champion}, {CHALLENGER}={self.challenger}, "
            f"{CHALLENGER_VERSION}={self.challenger_tag}, default={self.default}, "
            f"{LIVE_VERSION}={self.live}"
        )

    def to_dict(self) -> dict[str, str | None]:
        """JSON form, stored with a pending ledger row so a later run can finish or undo it."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Pointers:
        """Inverse of :meth:`to_dict`."""
        return cls(**data)


class ChangeKind(enum.StrEnum):
    """What one pointer statement does."""

    SET_ALIAS = "set_alias"
    UNSET_ALIAS = "unset_alias"
    SET_TAG = "set_tag"
    UNSET_TAG = "unset_tag"
    SET_DEFAULT = "set_default"

    @property
    def is_unset(self) -> bool:
        """Whether the statement removes a pointer."""
        return self in (ChangeKind.UNSET_ALIAS, ChangeKind.UNSET_TAG)


@dataclass(frozen=True)
class Change:
    """One pointer statement of a switch."""

    kind: ChangeKind
    """What the statement does."""
    name: str
    """The alias or tag concerned (empty for the default version)."""
    version: str | None
    """The version it points at (for ``unset_alias``: the version losing it)."""

    @property
    def is_commit(self) -> bool:
        """Whether this statement moves ``LIVE_VERSION``, the switch's commit point."""
        return self.name == LIVE_VERSION

    def applied_to(self, state: Pointers) -> Pointers:
        """The pointers after this statement."""
        if self.kind is ChangeKind.SET_DEFAULT:
            return replace(state, default=self.version)
        field = ALIAS_FIELD.get(self.name) or TAG_FIELD[self.name]
        return replace(state, **{field: None if self.kind.is_unset else self.version})

    def sql(self, model: str, schema: str) -> str:
        """The statement the Snowflake ML client issues for it (``model`` and ``schema`` qualified)."""
        if self.kind is ChangeKind.SET_ALIAS:
            return f"ALTER MODEL {model} VERSION {self.version} SET ALIAS = {self.name}"
        if self.kind is ChangeKind.UNSET_ALIAS:
            return f"ALTER MODEL {model} VERSION {self.name} UNSET ALIAS"
        if self.kind is ChangeKind.SET_DEFAULT:
            return f"ALTER MODEL {model} SET DEFAULT_VERSION = {self.version}"
        if self.kind is ChangeKind.SET_TAG:
            value = check_dollar_quotable(str(self.version), what=f"value of tag {self.name}")
            return f"ALTER MODEL {model} SET TAG {schema}.{self.name} = $${value}$$"
        return f"ALTER MODEL {model} UNSET TAG {schema}.{self.name}"


def plan_switch(current: Pointers, target: Pointers, *, commit_last: bool = True) -> list[Change]:
    """The statements that take the pointers from ``current`` to ``target``, in a safe order.

    Forward (``commit_last``): aliases (every unset before any set, because a version
    holds one alias at most; aliases that only go away first, so a moving alias is
    missing for a single statement), the challenger tag, the default version, and
    ``LIVE_VERSION`` last, so inference switches only once everything else agrees.
    Backward (restoring): the same groups in reverse, ``LIVE_VERSION`` first.
    """
    cleared, moved, sets = [], [], []
    for alias, field in ALIAS_FIELD.items():
        now, wanted = getattr(current, field), getattr(target, field)
        if now != wanted:
            if now is not None:
                unset = Change(ChangeKind.UNSET_ALIAS, alias, now)
                (cleared if wanted is None else moved).append(unset)
            if wanted is not None:
                sets.append(Change(ChangeKind.SET_ALIAS, alias, wanted))
    unsets = cleared + moved  # an alias that moves is absent for as few statements as possible
    tags = {}
    for tag, field in TAG_FIELD.items():
        now, wanted = getattr(current, field), getattr(target, field)
        if now != wanted:
            kind = ChangeKind.UNSET_TAG if wanted is None else ChangeKind.SET_TAG
            tags[tag] = [Change(kind, tag, wanted)]
    default = (
        [Change(ChangeKind.SET_DEFAULT, "", target.default)]
        if target.default is not None and target.default != current.default
        else []
    )
    groups = [unsets + sets, tags.get(CHALLENGER_VERSION, []), default, tags.get(LIVE_VERSION, [])]
    if not commit_last:
        groups.reverse()
    return [change for group in groups for change in group]


def existing_only(pointers: Pointers, existing: Collection[str]) -> Pointers:
    """``pointers`` without the aliases, challenger tag and default that name deleted versions.

    A deleted version can hold no alias and be no default, and a tag naming it points
    nowhere: restoring skips those pointers (an alias or the tag is left unset, the
    default unchanged). ``LIVE_VERSION`` is kept as it is.
    """
    return replace(
        pointers,
        **{
            f.name: None
            for f in fields(Pointers)
            if f.name != "live" and getattr(pointers, f.name) not in (None, *existing)
        },
    )


def missing_versions(pointers: Pointers, existing: Collection[str]) -> list[str]:
    """``FIELD=VERSION`` for each pointer (``LIVE_VERSION`` aside) naming a deleted version."""
    return [
        f"{name}={getattr(pointers, f)}"
        for name, f in (*ALIAS_FIELD.items(), *TAG_FIELD.items(), ("default", "default"))
        if f != "live" and getattr(pointers, f) not in (None, *existing)
    ]


def agreeing(current: Pointers, existing: Collection[str]) -> Pointers:
    """The pointers that agree with ``LIVE_VERSION``, changing as few as possible.

    CHAMPION and the default version follow the live version (when it exists); the
    CHALLENGER alias and the CHALLENGER_VERSION tag name one other existing version,
    the tag's if it names one, else the alias's, else none.
    """
    live = current.live
    lead = live if live in existing else None
    challenger = next(
        (v for v in (current.challenger_tag, current.challenger) if v in existing and v != live),
        None,
    )
    return Pointers(
        champion=lead or current.champion,
        challenger=challenger,
        challenger_tag=challenger,
        default=lead or current.default,
        live=live,
    )


def restore_sql(current: Pointers, before: Pointers, *, model: str, schema: str) -> list[str]:
    """The statements, as SQL, that return the pointers from ``current`` to ``before``.

    Only a switch that has not passed its commit point is ever restored; this is the
    repair an error prints when the restore itself could not run.
    """
    return [change.sql(model, schema) for change in plan_switch(current, before, commit_last=False)]


def incomplete_error(
    before: Pointers,
    state: Pointers,
    in_flight: Change | None,
    *,
    what: str,
    failure: Exception,
    model: str,
    schema: str,
    lock_ttl_seconds: int,
) -> RegistryError:
    """The error for a switch that could not be restored, with the exact SQL that restores it.

    Args:
        before: The pointers the switch started from (what they should be again).
        state: The last known pointers.
        in_flight: The statement running when the connection failed, if any: it may
            have taken effect, so a second repair is given for that case.
        what: What failed and where, for the message.
        failure: Why restoring failed (or was not attempted: a lost lock).
        model: The qualified model name.
        schema: The qualified schema of the tags.
        lock_ttl_seconds: When the lock frees itself.
    """
    repair = restore_sql(state, before, model=model, schema=schema)
    applied = repair  # what to run if the statement in flight took effect after all
    if in_flight is not None:
        after = in_flight.applied_to(state)
        applied = (
            [] if in_flight.is_commit else restore_sql(after, before, model=model, schema=schema)
        )
    unsure = in_flight is not None and (in_flight.is_commit or applied)
    if not repair and not unsure:
        return SwitchFailedError(
            f"{what}. No pointer had been changed, so nothing was switched (the pointers "
            f"could not be read back: {failure})."
        )
    attempt = "was not attempted" if isinstance(failure, LockLostError) else "failed too"
    lines = [
        f"{what}, and restoring the previous pointers {attempt}: {failure}.",
        f"Last known pointers: {state.describe()}.",
        f"They should be: {before.describe()}.",
        "The ledger entry of this switch stays pending until the next run (or "
        "`ccflows snowflake repair --yes`) settles it; to restore the pointers now, run in order:",
        *(f"  {sql};" for sql in repair),
    ]
    if in_flight is not None and in_flight.is_commit:
        lines += [
            f"But if {LIVE_VERSION} already shows {in_flight.version}, the commit took effect: "
            "the switch stands; run nothing."
        ]
    elif in_flight is not None and applied != repair:
        sql = in_flight.sql(model, schema)
        lines += [f"If `{sql}` took effect after all (its reply was lost), run instead:"]
        lines += [f"  {sql};" for sql in applied] or ["  nothing."]
    lines += [f"The promotion lock frees itself within {lock_ttl_seconds} s."]
    return PromotionIncompleteError(
        "\n".join(lines), state=state, repair_sql=repair, repair_sql_if_applied=applied
    )
