"""Settings from the environment: one variable of a section changes that value and no other."""
from __future__ import annotations

import pytest

from telemetry.config import Settings


def test_one_http_variable_keeps_the_services_own_port(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TELEMETRY_HTTP__MAX_BODY_BYTES", "4096")
    settings = Settings()
    assert (settings.http.port, settings.http.max_body_bytes) == (8004, 4096)


def test_a_port_given_is_the_port_used(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TELEMETRY_HTTP__PORT", "9104")
    assert Settings().http.port == 9104
