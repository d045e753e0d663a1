"""Independent (split-traffic) evidence and earlier looks: validation, per-arm labels, npz."""

from __future__ import annotations

import io
import json
import math

import numpy as np
import pytest

import ccpolicy
from ccpolicy import Evidence, EvidenceError, Look


def split_evidence(**context: object) -> Evidence:
    return Evidence.independent(
        [0, 1, 1], [0.2, 0.7, 0.4], [1, 0, 0, 1], [0.9, 0.1, 0.3, 0.6], **context
    )


class TestIndependentEvidence:
    def test_each_arm_keeps_its_own_labels_and_counts_add_up(self) -> None:
        evidence = split_evidence()
        assert evidence.design == "independent"
        assert evidence.champion_y_true.tolist() == [0, 1, 1]
        assert evidence.challenger_y_true.tolist() == [1, 0, 0, 1]
        assert (evidence.n_rows, evidence.n_positive) == (7, 4)
        assert not evidence.challenger_y_true.flags.writeable

    def test_paired_evidence_is_unchanged_and_both_arms_see_y_true(self) -> None:
        evidence = Evidence([0, 1, 1], [0.2, 0.7, 0.4], [0.1, 0.8, 0.6])
        assert evidence.design == "paired" and evidence.earlier_looks == ()
        assert evidence.champion_y_true.tolist() == evidence.y_true.tolist()
        assert evidence.challenger_y_true.tolist() == evidence.y_true.tolist()
        assert repr(evidence) == "Evidence(n_rows=3, n_positive=2)"

    @pytest.mark.parametrize(
        ("arrays", "message"),
        [
            (
                ([0, 1], [0.1], [1], [0.5]),
                r"^champion_scores has 1 rows while champion_labels has 2",
            ),
            (([0, 1], [0.1, 0.2], [], []), r"^challenger_labels has 0 rows"),
            (
                ([0, 2], [0.1, 0.2], [1], [0.5]),
                r"^champion_labels must hold only the labels 0 and 1",
            ),
            (([0, 1], [0.1, 0.2], [1], [math.nan]), r"^challenger_scores must be finite"),
        ],
    )
    def test_bad_arms_are_refused_in_one_line(self, arrays, message) -> None:
        with pytest.raises(EvidenceError, match=message) as caught:
            Evidence.independent(*arrays)
        assert "\n" not in str(caught.value)

    def test_labels_that_do_not_add_up_to_both_arms_are_refused(self) -> None:
        with pytest.raises(EvidenceError, match=r"^independent evidence has 3 labels for 2 cham"):
            Evidence([0, 1, 1], [0.1, 0.2], [0.5, 0.6], design="independent")

    def test_an_unknown_design_is_refused(self) -> None:
        with pytest.raises(EvidenceError, match=r"^design must be 'paired' or 'independent'"):
            Evidence([0, 1], [0.1, 0.9], [0.2, 0.8], design="split")


class TestLooks:
    def test_a_look_round_trips_through_json_with_infinite_numbers(self) -> None:
        look = Look(1, 0.05, 1.2, 0.0, math.inf)
        data = json.loads(json.dumps(look.to_dict()))
        assert data["boundary"] == "inf" and Look.from_dict(data) == look

    @pytest.mark.parametrize(
        ("kwargs", "message"),
        [
            ({"number": 0}, r"^Look.number must be an int >= 1"),
            ({"information": 1.5}, r"^Look.information must be in \(0, 1\]"),
            ({"alpha_spent": 1.0}, r"^Look.alpha_spent must be in \[0, 1\)"),
            ({"boundary": math.nan}, r"^Look.boundary must be a number or infinity"),
        ],
    )
    def test_bad_looks_are_refused(self, kwargs, message) -> None:
        values = {"number": 1, "information": 0.5, "z": 1.0, "alpha_spent": 0.01, "boundary": 2.9}
        with pytest.raises(EvidenceError, match=message):
            Look(**{**values, **kwargs})

    def test_a_dict_with_other_keys_is_refused(self) -> None:
        with pytest.raises(EvidenceError, match=r"^a look must be a mapping with exactly the keys"):
            Look.from_dict({"number": 1})

    def test_earlier_looks_must_be_one_tests_history_in_order(self) -> None:
        first, second = Look(1, 0.2, 0.5, 0.001, 4.0), Look(2, 0.4, 0.7, 0.01, 3.0)
        evidence = Evidence([0, 1], [0.1, 0.9], [0.2, 0.8], earlier_looks=[first, second.to_dict()])
        assert evidence.earlier_looks == (first, second)
        with pytest.raises(EvidenceError, match=r"numbered 1, 2, \.\.\. in order; got \[2\]"):
            Evidence([0, 1], [0.1, 0.9], [0.2, 0.8], earlier_looks=[second])
        with pytest.raises(EvidenceError, match=r"less information or alpha spent"):
            Evidence([0, 1], [0.1, 0.9], [0.2, 0.8], earlier_looks=[second, Look(2, 0.3, 0, 0, 9)])

    def test_look_of_reads_the_record_a_decision_carries(self) -> None:
        look = Look(3, 0.6, 2.5, 0.02, 2.4)
        decision = ccpolicy.Decision("promote", "r", {"look_record": look.to_dict()})
        assert ccpolicy.look_of(decision) == look
        assert ccpolicy.look_of(ccpolicy.Decision("keep", "r", {"look_record": None})) is None


class TestNpz:
    def test_independent_evidence_with_looks_round_trips(self) -> None:
        looks = (Look(1, 0.1, 0.3, 0.0, math.inf), Look(2, 0.2, -0.4, 1e-6, 5.1))
        original = split_evidence(earlier_looks=looks, data_week=12)
        restored = Evidence.from_npz_bytes(original.to_npz_bytes())
        assert restored.design == "independent" and restored.earlier_looks == looks
        assert restored.challenger_y_true.tolist() == original.challenger_y_true.tolist()
        assert restored.champion_scores.tobytes() == original.champion_scores.tobytes()
        assert repr(restored) == repr(original)

    def test_a_format_1_archive_reads_as_paired_without_looks(self) -> None:
        buffer = io.BytesIO()
        metadata = {"format": 1, "data_week": 3, "period": "week"}
        np.savez(
            buffer,
            metadata=np.array(json.dumps(metadata)),
            y_true=np.array([0.0, 1.0]),
            champion_scores=np.array([0.1, 0.9]),
            challenger_scores=np.array([0.2, 0.8]),
        )
        restored = Evidence.from_npz_bytes(buffer.getvalue())
        assert restored.design == "paired" and restored.earlier_looks == ()
        assert restored.data_week == 3
