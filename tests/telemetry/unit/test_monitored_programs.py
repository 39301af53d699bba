"""Which programs are judged on the reclaim ladder: P3 by default; P1 and P2 switched on by a setting."""
from __future__ import annotations

import pytest
from pydantic import ValidationError

from telemetry.config import Settings


def test_only_p3_is_judged_by_default() -> None:
    policy = Settings().policy.ladder()
    assert [p for p in ("P1", "P2", "P3") if policy.monitors(p)] == ["P3"]


def test_p1_and_p2_are_switched_on_by_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TELEMETRY_POLICY__MONITORED_PROGRAMS", '["P1", "P3"]')
    policy = Settings().policy.ladder()
    assert [p for p in ("P1", "P2", "P3") if policy.monitors(p)] == ["P1", "P3"]


def test_a_program_that_does_not_exist_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TELEMETRY_POLICY__MONITORED_PROGRAMS", '["P4"]')
    with pytest.raises(ValidationError, match="monitored_programs"):
        Settings()
