"""A/B splits show a winner only when the difference is significant: the pooled
two-proportion z-test (functions/ab_stats.py), and the analytics answer that carries it."""

from __future__ import annotations

import pytest

from functions.ab_stats import Proportion, sample_size, two_proportion_test
from functions.enrollments import enroll
from functions.store.contacts import create_contact
from functions.store.models import Enrollment, NodeStats
from tests.functions.api_support import Api
from tests.functions.test_analytics import counted
from tests.functions.test_enrollments import flow, node

CUSTOMER = {
    "match": "any",
    "groups": [
        {
            "match": "all",
            "conditions": [{"field": "lifecycle_stage", "op": "is_one_of", "value": ["customer"]}],
        }
    ],
}


def split_test(flow_id: str = "subject-test") -> dict:
    """Split 50/50, tag by variant, then a goal (the contact is a customer) shared by both."""
    return flow(
        flow_id,
        [
            node(
                "split",
                "ab_split",
                variants=[{"name": "a", "weight": 50}, {"name": "b", "weight": 50}],
            ),
            node("tag_a", "update_record", add_tags=["a"]),
            node("tag_b", "update_record", add_tags=["b"]),
            node("bought", "goal", criteria=CUSTOMER),
            node("done", "end"),
        ],
        [
            ("start", "split"),
            ("split", "tag_a", "a"),
            ("split", "tag_b", "b"),
            ("tag_a", "bought"),
            ("tag_b", "bought"),
            ("bought", "done"),
        ],
    )


# --- the statistics ------------------------------------------------------------------------


def test_the_known_figures_120_of_1000_against_160_of_1000() -> None:
    result = two_proportion_test(Proportion(120, 1000), Proportion(160, 1000))
    assert result.z == pytest.approx(2.578, abs=0.001)
    assert result.p_value == pytest.approx(0.0099, abs=0.0001)
    assert result.difference == pytest.approx(0.04)
    assert (result.ci_low, result.ci_high) == (
        pytest.approx(0.0096, abs=0.0001),
        pytest.approx(0.0704, abs=0.0001),
    )
    assert result.needed_per_variant == 1181
    assert result.still_needed_per_variant == 181
    assert result.significant is True


def test_the_same_rates_on_a_tenth_of_the_contacts_are_not_significant() -> None:
    result = two_proportion_test(Proportion(12, 100), Proportion(16, 100))
    assert result.p_value == pytest.approx(0.41, abs=0.01)
    assert result.ci_low < 0 < result.ci_high  # the interval holds "no difference"
    assert result.significant is False
    assert result.still_needed_per_variant == 1181 - 100


def test_the_test_is_symmetric() -> None:
    ahead = two_proportion_test(Proportion(120, 1000), Proportion(160, 1000))
    behind = two_proportion_test(Proportion(160, 1000), Proportion(120, 1000))
    assert behind.z == pytest.approx(-ahead.z)
    assert behind.p_value == pytest.approx(ahead.p_value)


def test_counts_that_cannot_say_give_no_numbers_and_no_significance() -> None:
    nobody = two_proportion_test(Proportion(0, 0), Proportion(3, 10))
    assert (nobody.z, nobody.p_value, nobody.difference) == (None, None, None)
    assert nobody.significant is False
    none_converted = two_proportion_test(Proportion(0, 50), Proportion(0, 50))
    assert (none_converted.z, none_converted.p_value, none_converted.ci_low) == (None, None, None)
    assert none_converted.needed_per_variant is None  # equal rates: no sample finds a gap
    assert none_converted.significant is False


def test_smaller_effects_need_more_contacts() -> None:
    assert sample_size(0.10, 0.12) > sample_size(0.10, 0.15) > sample_size(0.10, 0.20)
    assert sample_size(0.5, 0.5) is None


# --- the analytics answer ----------------------------------------------------------------


@pytest.fixture
def api(engine) -> Api:
    return Api()


def test_the_answer_tests_the_known_figures_and_names_the_winner(api) -> None:
    marketer = api.key("marketer")
    published = api.post("/flows/subject-test/publish", marketer, {"flow": split_test()})
    assert published.status == 200, published.body
    # 2,000 contacts through moto would take minutes: their counters are seeded instead,
    # as record_departure leaves them.
    for variant, entered, converted in (("tag_a", 1000, 120), ("tag_b", 1000, 160)):
        NodeStats("subject-test", f"000001#{variant}", entered=entered).save()
        NodeStats("subject-test", f"goal-after#000001#{variant}", goal=converted).save()

    answer = api.get("/flows/subject-test/analytics", marketer)
    assert answer.status == 200, answer.body
    assert answer.body["splits"]["split"] == {
        "a": {"node": "tag_a", "entered": 1000, "goal": 120},
        "b": {"node": "tag_b", "entered": 1000, "goal": 160},
    }
    assert "goal-after#000001#tag_a" not in answer.body["nodes"]  # not a step
    [test] = answer.body["ab_tests"]["split"]
    assert (test["metric"], test["control"], test["variant"]) == ("goal", "a", "b")
    assert test["z"] == pytest.approx(2.58, abs=0.005)
    assert test["p_value"] == pytest.approx(0.0099, abs=0.0001)
    assert test["ci_low"] == pytest.approx(0.0096, abs=0.0001)
    assert test["ci_high"] == pytest.approx(0.0704, abs=0.0001)
    assert (test["needed_per_variant"], test["still_needed_per_variant"]) == (1181, 181)
    assert test["significant"] is True and test["winner"] == "b"


def test_no_winner_while_the_difference_may_be_chance(api) -> None:
    marketer = api.key("marketer")
    api.post("/flows/subject-test/publish", marketer, {"flow": split_test()})
    for variant, entered, converted in (("tag_a", 100, 12), ("tag_b", 100, 16)):
        NodeStats("subject-test", f"000001#{variant}", entered=entered).save()
        NodeStats("subject-test", f"goal-after#000001#{variant}", goal=converted).save()

    [test] = api.get("/flows/subject-test/analytics", marketer).body["ab_tests"]["split"]
    assert test["significant"] is False and test["winner"] is None
    assert test["p_value"] == pytest.approx(0.41, abs=0.01)
    assert test["still_needed_per_variant"] == 1081


def test_goals_are_counted_for_the_variant_each_contact_took(api) -> None:
    marketer = api.key("marketer")
    api.post("/flows/subject-test/publish", marketer, {"flow": split_test()})
    runs = [
        enroll(
            "subject-test",
            create_contact(
                {"email": f"p{i}@example.com", "lifecycle_stage": "customer" if i % 2 else "lead"}
            ).contact_id,
        )
        for i in range(8)
    ]
    took: dict[str, list[str]] = {"tag_a": [], "tag_b": []}
    for run in runs:
        record = counted(run.enrollment_id)
        variant = next(v["node"] for v in record.path if v["node"] in took)
        took[variant].append(record.status)

    answer = api.get("/flows/subject-test/analytics", marketer).body
    for name, variant in (("a", "tag_a"), ("b", "tag_b")):
        counts = answer["splits"]["split"][name]
        assert counts["entered"] == len(took[variant])
        assert counts["goal"] == took[variant].count("goal")
    assert answer["funnel"]["goal"] == 4  # the customers, met at the shared goal step
    assert sum(v["goal"] for v in answer["splits"]["split"].values()) == 4
    assert len(answer["ab_tests"]["split"]) == 1
    assert Enrollment.get(runs[0].enrollment_id).status == "ended"  # a lead: on to the end
