"""The registry contract, as a test suite every backend subclasses.

A backend's test module defines a subclass with a ``registry`` fixture returning a
fresh, empty registry; every behaviour below then runs against it. This is what
"both backends behave alike" means in practice.
"""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest

from flows.backends import Backend
from flows.backends.registry import Registry
from flows.cycle import steps
from flows.data.contract import DEFAULT_CONTRACT
from flows.data.quickstart import generate_applications, row_hashes
from flows.data.specs import ModelSpec
from flows.errors import (
    AlreadyChampionError,
    AlreadyLiveError,
    NoChampionError,
    VersionExistsError,
    VersionNotFoundError,
)
from flows.names import CHALLENGER, CHALLENGER_VERSION, CHAMPION, FEATURE_COLUMNS, LIVE_VERSION
from flows.records import LedgerEntry, ModelVersion, Outcome

TINY_SPEC = ModelSpec(estimator="sklearn.linear_model.LogisticRegression", params={"max_iter": 200})


def record(name: str, model_name: str, *, weeks: tuple[int, int] = (0, 0)) -> ModelVersion:
    """A version record as the steps would build it."""
    return ModelVersion(
        model_name=model_name,
        name=name,
        created_at="",
        comment=f"test version {name}",
        metrics={"test_auc": 0.61, "training_samples": 400},
        train_weeks=weeks,
        test_weeks=(weeks[1] + 1, weeks[1] + 1),
        row_count=400,
        train_fingerprint="ab" * 32,
        spec=TINY_SPEC.to_dict(),
    )


def decision(outcome: Outcome = Outcome.PROMOTED, **fields) -> LedgerEntry:
    """A ledger entry as the promotion step would build it."""
    return LedgerEntry(outcome=outcome, reason=f"test {outcome.value}", actor="tester", **fields)


class RegistryContract:
    """Behaviour every registry backend must show."""

    @pytest.fixture
    def registry(self) -> Registry:
        raise NotImplementedError("subclasses return a fresh, empty registry")

    @pytest.fixture(scope="class")
    @classmethod
    def tiny_data(cls) -> pd.DataFrame:
        """Two weeks of applications, enough to fit and score a small model."""
        return DEFAULT_CONTRACT.validate(generate_applications(2))

    @pytest.fixture(scope="class")
    @classmethod
    def tiny_model(cls, tiny_data: pd.DataFrame):
        """A fitted logistic regression on the features."""
        model = TINY_SPEC.build()
        return model.fit(tiny_data[list(FEATURE_COLUMNS)], tiny_data["approved"])

    def log(self, registry: Registry, name: str, model, data: pd.DataFrame, **kw) -> ModelVersion:
        return registry.log_version(
            model,
            record(name, registry.model_name, **kw),
            sample_input=data[list(FEATURE_COLUMNS)].head(5),
            train_row_hashes=row_hashes(data),
        )

    @pytest.fixture
    def two_versions(self, registry, tiny_model, tiny_data) -> tuple[str, str]:
        self.log(registry, "V_ONE", tiny_model, tiny_data)
        self.log(registry, "V_TWO", tiny_model, tiny_data)
        return "V_ONE", "V_TWO"

    # -- versions -------------------------------------------------------------------

    def test_logged_version_reads_back_with_its_record(self, registry, tiny_model, tiny_data):
        stored = self.log(registry, "V_ONE", tiny_model, tiny_data, weeks=(3, 12))
        again = registry.get_version("V_ONE")
        assert again == stored
        assert again.train_weeks == (3, 12)
        assert again.metrics["test_auc"] == pytest.approx(0.61)
        assert again.created_at  # stamped by the backend
        assert [v.name for v in registry.list_versions()] == ["V_ONE"]

    def test_version_names_are_immutable(self, registry, tiny_model, tiny_data):
        self.log(registry, "V_ONE", tiny_model, tiny_data)
        with pytest.raises(VersionExistsError, match="V_ONE"):
            self.log(registry, "V_ONE", tiny_model, tiny_data)

    def test_unknown_version_is_refused_by_name(self, registry):
        with pytest.raises(VersionNotFoundError, match="NOPE"):
            registry.get_version("NOPE")

    def test_scores_come_from_the_logged_model(self, registry, tiny_model, tiny_data):
        self.log(registry, "V_ONE", tiny_model, tiny_data)
        expected = tiny_model.predict_proba(tiny_data[list(FEATURE_COLUMNS)])[:, 1]
        np.testing.assert_allclose(registry.predict_proba("V_ONE", tiny_data), expected)

    def test_training_row_hashes_are_kept(self, registry, tiny_model, tiny_data):
        self.log(registry, "V_ONE", tiny_model, tiny_data)
        hashes = registry.train_row_hashes("V_ONE")
        if hashes is not None:  # a backend may fall back to week overlap
            np.testing.assert_array_equal(np.sort(hashes), np.sort(row_hashes(tiny_data)))

    # -- pointers ---------------------------------------------------------------------

    def test_empty_registry_has_no_champion(self, registry):
        assert registry.live_version() is None
        with pytest.raises(NoChampionError, match="train-champion"):
            registry.champion()

    def test_first_promotion_sets_alias_tag_and_default(self, registry, two_versions):
        first, _ = two_versions
        entry = registry.promote_if_champion_is(None, first, decision(Outcome.BOOTSTRAPPED))
        assert entry.outcome is Outcome.BOOTSTRAPPED
        assert (entry.live_before, entry.live_after) == (None, first)
        assert registry.version_by_alias(CHAMPION) == first
        assert registry.get_tag(LIVE_VERSION) == first
        assert registry.default_version() == first
        assert registry.status().consistent

    def test_set_challenger_moves_alias_and_tag(self, registry, two_versions):
        first, second = two_versions
        registry.promote_if_champion_is(None, first, decision(Outcome.BOOTSTRAPPED))
        registry.set_challenger(second)
        assert registry.version_by_alias(CHALLENGER) == second
        assert registry.get_tag(CHALLENGER_VERSION) == second

    def test_clear_challenger_takes_alias_and_tag_off_that_version_only(
        self, registry, two_versions
    ):
        first, second = two_versions
        registry.promote_if_champion_is(None, first, decision(Outcome.BOOTSTRAPPED))
        registry.set_challenger(second)
        registry.clear_challenger(first)  # not the challenger: nothing changes
        assert registry.version_by_alias(CHALLENGER) == second
        registry.clear_challenger(second)
        assert registry.version_by_alias(CHALLENGER) is None
        assert registry.get_tag(CHALLENGER_VERSION) is None
        assert registry.version_by_alias(CHAMPION) == first
        assert registry.status().consistent

    def test_promotion_moves_champion_and_clears_challenger(self, registry, two_versions):
        first, second = two_versions
        registry.promote_if_champion_is(None, first, decision(Outcome.BOOTSTRAPPED))
        registry.set_challenger(second)
        entry = registry.promote_if_champion_is(first, second, decision())
        assert entry.outcome is Outcome.PROMOTED
        assert (entry.live_before, entry.live_after) == (first, second)
        status = registry.status()
        assert status.consistent and status.live_version == second
        assert status.challenger_alias is None and status.challenger_tag is None

    def test_stale_champion_changes_nothing_and_is_recorded(self, registry, two_versions):
        first, second = two_versions
        registry.promote_if_champion_is(None, first, decision(Outcome.BOOTSTRAPPED))
        entry = registry.promote_if_champion_is("SOMEONE_ELSE", second, decision())
        assert entry.outcome is Outcome.STALE_CHAMPION
        assert first in entry.reason and "SOMEONE_ELSE" in entry.reason
        assert registry.live_version() == first
        assert registry.version_by_alias(CHAMPION) == first
        assert registry.ledger()[-1].outcome is Outcome.STALE_CHAMPION

    def test_a_version_holds_at_most_one_alias(self, registry, two_versions):
        first, second = two_versions
        registry.promote_if_champion_is(None, first, decision(Outcome.BOOTSTRAPPED))
        with pytest.raises(AlreadyChampionError, match="champion"):
            registry.set_challenger(first)
        registry.set_challenger(second)
        registry.promote_if_champion_is(first, second, decision())
        assert registry.version_by_alias(CHAMPION) == second
        assert registry.version_by_alias(CHALLENGER) is None

    # -- ledger -----------------------------------------------------------------------

    def test_ledger_is_ordered_and_keeps_evidence(self, registry, two_versions):
        first, second = two_versions
        registry.promote_if_champion_is(None, first, decision(Outcome.BOOTSTRAPPED))
        kept = registry.append_ledger(decision(Outcome.KEPT), evidence=b"scores")
        promoted = registry.promote_if_champion_is(first, second, decision(), evidence=b"more")
        entries = registry.ledger()
        assert [e.outcome for e in entries] == [
            Outcome.BOOTSTRAPPED,
            Outcome.KEPT,
            Outcome.PROMOTED,
        ]
        assert [e.id for e in entries] == sorted(e.id for e in entries)
        assert entries[1].has_evidence and not entries[0].has_evidence
        assert registry.ledger_evidence(kept.id) == b"scores"
        assert registry.ledger_evidence(promoted.id) == b"more"
        assert [e.id for e in registry.ledger(limit=1)] == [promoted.id]

    def test_the_evidences_strength_reads_back_as_recorded(self, registry, two_versions):
        strength = {"auc_gain": 0.01, "p_value": 0.4, "ci_low": -0.01, "ci_high": 0.03,
                    "min_detectable_gain": 0.04}  # fmt: skip
        registry.promote_if_champion_is(None, two_versions[0], decision(Outcome.BOOTSTRAPPED))
        registry.append_ledger(decision(Outcome.KEPT, strength=strength))
        assert registry.ledger()[-1].strength == strength

    def test_previous_champion_and_live_at_follow_the_ledger(self, registry, two_versions):
        first, second = two_versions
        before = datetime.now(UTC).isoformat()
        registry.promote_if_champion_is(None, first, decision(Outcome.BOOTSTRAPPED))
        middle = datetime.now(UTC).isoformat()
        registry.promote_if_champion_is(first, second, decision())
        assert registry.previous_champion() == first
        assert registry.live_at(before) is None
        assert registry.live_at(middle) == first
        assert registry.live_at(datetime.now(UTC).isoformat()) == second

    # -- rollback -----------------------------------------------------------------------

    @pytest.fixture
    def promoted_twice(self, registry, two_versions, tiny_model, tiny_data) -> Backend:
        """V_ONE bootstrapped, then V_TWO and V_THREE promoted: V_THREE is live."""
        first, second = two_versions
        self.log(registry, "V_THREE", tiny_model, tiny_data)
        registry.promote_if_champion_is(None, first, decision(Outcome.BOOTSTRAPPED))
        registry.promote_if_champion_is(first, second, decision())
        registry.promote_if_champion_is(second, "V_THREE", decision())
        return Backend(source=None, registry=registry)

    def test_rollback_guarded_by_the_live_version_goes_back_one_promotion(self, promoted_twice):
        entry = steps.rollback(promoted_twice, if_live="V_THREE", actor="tester")
        assert entry.outcome is Outcome.ROLLED_BACK
        assert (entry.live_before, entry.live_after) == ("V_THREE", "V_TWO")
        assert promoted_twice.registry.status().live_version == "V_TWO"

    def test_rollback_guarded_by_a_version_no_longer_live_is_refused_and_recorded(
        self, promoted_twice
    ):
        registry = promoted_twice.registry
        before = len(registry.ledger())
        entry = steps.rollback(promoted_twice, if_live="V_TWO", actor="tester")
        assert entry.outcome is Outcome.STALE_CHAMPION
        assert "only while V_TWO was live" in entry.reason
        assert "the live version is V_THREE" in entry.reason
        assert (entry.champion_version, entry.live_before, entry.live_after) == (
            "V_TWO",
            "V_THREE",
            "V_THREE",
        )
        assert registry.live_version() == "V_THREE"
        assert registry.version_by_alias(CHAMPION) == "V_THREE"
        assert registry.status().consistent
        assert [e.outcome for e in registry.ledger()[before:]] == [Outcome.STALE_CHAMPION]

    def test_rollback_to_a_version_guarded_by_itself_when_it_is_not_live_is_refused(
        self, promoted_twice
    ):
        entry = steps.rollback(promoted_twice, to_version="V_ONE", if_live="V_ONE")
        assert entry.outcome is Outcome.STALE_CHAMPION
        assert "Rollback to V_ONE not applied" in entry.reason and "V_THREE" in entry.reason
        assert promoted_twice.registry.live_version() == "V_THREE"

    def test_rollback_to_the_live_version_says_so_and_records_nothing(self, promoted_twice):
        registry = promoted_twice.registry
        before = registry.ledger()
        with pytest.raises(AlreadyLiveError, match="V_THREE is already live") as raised:
            steps.rollback(promoted_twice, to_version="V_THREE")
        assert raised.value.version == "V_THREE"
        assert registry.ledger() == before
        assert registry.live_version() == "V_THREE"

    # -- a run's start and its ends ------------------------------------------------------

    def test_started_rows_are_kept_apart_from_the_decisions(self, registry):
        start = registry.append_ledger(decision(Outcome.STARTED, run_id="r1", run_count=1))
        kept = registry.append_ledger(decision(Outcome.KEPT, run_id="r1", run_count=1))
        assert [e.id for e in registry.ledger()] == [kept.id]
        assert [e.id for e in registry.ledger(started=True)] == [start.id]
        assert registry.ledger(limit=1)[0].outcome is Outcome.KEPT
        assert registry.status().last_entry.id == kept.id

    def test_an_attempt_gets_one_end_and_a_retry_its_own(self, registry):
        registry.append_ledger(decision(Outcome.STARTED, run_id="r1", run_count=1))
        first = registry.append_end(decision(Outcome.FAILED, run_id="r1", run_count=1))
        assert first is not None and first.run_count == 1 and first.package_version
        assert registry.append_end(decision(Outcome.FAILED, run_id="r1", run_count=1)) is None
        registry.append_ledger(decision(Outcome.STARTED, run_id="r1", run_count=2))
        second = registry.append_end(decision(Outcome.FAILED, run_id="r1", run_count=2))
        assert second is not None
        assert registry.append_end(decision(Outcome.FAILED, run_id="r2", run_count=1)) is not None
        ends = [(e.run_id, e.run_count) for e in registry.ledger()]
        assert ends == [("r1", 1), ("r1", 2), ("r2", 1)]

    def test_a_decision_is_the_end_of_its_attempt(self, registry):
        registry.append_ledger(decision(Outcome.KEPT, run_id="r1", run_count=1))
        assert registry.append_end(decision(Outcome.FAILED, run_id="r1", run_count=1)) is None
        # an end whose attempt is unknown (a task graph's run) ends every attempt of its run
        assert registry.append_end(decision(Outcome.FAILED, run_id="r1")) is None
        assert [e.outcome for e in registry.ledger()] == [Outcome.KEPT]
