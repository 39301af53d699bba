"""Every policy rule's bounds, the invariants a version keeps with the platform, its schedule, and its state."""
from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from uuid import uuid4

import pytest

from evaluation.config import PolicySeed, Settings
from evaluation.domain.decisions import evaluate
from evaluation.domain.model import Applicant, Submission
from evaluation.domain.policy import Change, PolicyVersion, State
from evaluation.domain.policy_bounds import BOUNDS, Platform, policy_problems, schedule_problems
from evaluation.domain.preview import compare

SEED = PolicySeed().policy()
T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
DOCS = Path(__file__).resolve().parents[3] / "docs" / "evaluation.md"


def fields(problems: list[tuple[str, str]]) -> list[str]:
    return [f for f, _ in problems]


def test_the_seed_keeps_every_bound_and_the_platform() -> None:
    assert policy_problems(SEED, Platform()) == []


@pytest.mark.parametrize("name", sorted(BOUNDS))
def test_a_rule_just_outside_its_bounds_is_refused_naming_it(name: str) -> None:
    bound = BOUNDS[name]
    for value in (bound.low - 1, bound.high + 1):
        problems = [p for p in policy_problems(replace(SEED, **{name: value})) if p[0] == name]
        assert problems and f"between {bound.low} and {bound.high}" in problems[0][1], (name, value)


def test_gpus_per_server_must_be_the_platforms() -> None:
    [(field, reason)] = policy_problems(replace(SEED, server_gpus=16), Platform(server_gpus=8))
    assert field == "server_gpus" and "INTAKE_FORMS__SERVER_GPUS" in reason
    assert policy_problems(replace(SEED, server_gpus=16), Platform(server_gpus=16)) == []


def test_p1_may_ask_less_than_the_platform_allows_but_never_more() -> None:
    assert policy_problems(replace(SEED, p1_max_gpus=8, p1_max_servers=1), Platform()) == []
    assert fields(policy_problems(replace(SEED, p1_max_gpus=16), Platform(p1_max_gpus=12))) == ["p1_max_gpus"]
    assert fields(policy_problems(replace(SEED, p1_max_servers=3), Platform(p1_max_servers=2))) == ["p1_max_servers"]


def test_rules_that_depend_on_each_other_stay_in_order() -> None:
    assert fields(policy_problems(replace(SEED, p1_max_servers=1))) == ["p1_max_gpus"]  # 16 GPUs on one server of 8
    assert fields(policy_problems(replace(SEED, p3_max_window_months=12, p3_max_period_months=6))) == [
        "p3_max_window_months"]
    assert fields(policy_problems(replace(SEED, p1_regional_bonus_points=6, p1_youth_bonus_points=5))) == [
        "p1_youth_bonus_points"]
    assert fields(policy_problems(replace(SEED, capital_region=("Seoul", "Seoul")))) == ["capital_region"]


def test_a_version_starts_after_the_notice_and_after_the_latest_version() -> None:
    notice = timedelta(minutes=5)
    at = replace(SEED, version="2026.2", effective_at=T0 + timedelta(minutes=4))
    assert "at least 5 minute(s)" in schedule_problems(at, SEED, T0, notice)[0][1]
    assert schedule_problems(replace(at, effective_at=T0 + notice), SEED, T0, notice) == []
    latest = replace(SEED, version="2026.3", effective_at=T0 + timedelta(days=2))
    assert "start of the latest version 2026.3" in schedule_problems(replace(at, effective_at=T0 + timedelta(days=1)),
                                                                     latest, T0, notice)[0][1]


def test_a_version_is_scheduled_then_in_force_then_superseded_unless_cancelled() -> None:
    created = Change(T0, "operator-kim", "operator")
    version = PolicyVersion(replace(SEED, version="2026.2", effective_at=T0 + timedelta(hours=1)), created)
    assert version.state(T0, "2026.1") is State.SCHEDULED
    assert version.state(T0 + timedelta(hours=1), "2026.2") is State.IN_FORCE
    assert version.state(T0 + timedelta(days=9), "2026.3") is State.SUPERSEDED
    assert replace(version, cancelled=created).state(T0, "2026.1") is State.CANCELLED


def test_a_seed_off_the_platform_is_refused_at_start_up() -> None:
    with pytest.raises(ValueError, match="server_gpus"):
        Settings(seed_policy=PolicySeed(server_gpus=4, p1_max_gpus=8))


def test_a_preview_rescores_from_the_stored_submission_and_says_why_one_would_fail() -> None:
    plan = Submission(uuid4(), "P3", None, Applicant("academia", "KAIST", "Daejeon"), 8, "H100", date(2027, 1, 1),
                      date(2027, 6, 30), 2920, T0)
    result = evaluate(plan, SEED, T0)
    lower_base = compare(result, [], SEED, replace(SEED, eligibility_base_points=20))
    shorter = compare(result, [], SEED, replace(SEED, p3_max_period_months=3, p3_max_window_months=3))
    assert (lower_base.current_score, lower_base.proposed_score, lower_base.difference) == (70.0, 60.0, -10.0)
    assert (shorter.proposed_score, shorter.difference) == (None, None)
    assert [r.split(":")[0] for r in shorter.proposed_failed_rules] == ["p3_period_length"]


def test_the_docs_table_states_every_bound() -> None:
    table = DOCS.read_text(encoding="utf-8")
    for name, bound in BOUNDS.items():
        row = re.search(rf"^\| `{name}` \|(.*)$", table, re.MULTILINE)
        assert row is not None, f"docs/evaluation.md has no row for {name}"
        assert f"{bound.low} to {bound.high} {bound.unit}" in row.group(1), name
