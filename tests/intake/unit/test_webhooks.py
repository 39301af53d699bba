"""Webhooks without a database: URLs accepted, the signature scheme, and the retry schedule."""
from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from intake.adapters.webhook_delivery import WebhookSettings
from intake.domain.errors import InvalidInput
from intake.domain.webhooks import DeliveryState, RetryPolicy, StatusChange, new_webhook, signature, url_problems

AT = datetime(2027, 1, 5, 9, 30, tzinfo=UTC)
DELIVERY = uuid.UUID("6f1c2a4e-0000-4000-8000-000000000001")


def test_the_signature_is_the_hex_hmac_of_id_timestamp_and_body_with_the_secret() -> None:
    body = b'{"status":"scored"}'
    expected = hmac.new(b"whsec_abc", f"{DELIVERY}.1767225600.".encode() + body, hashlib.sha256).hexdigest()
    assert signature("whsec_abc", DELIVERY, 1767225600, body) == f"v1={expected}"


def test_a_change_to_the_body_the_timestamp_or_the_secret_changes_the_signature() -> None:
    first = signature("whsec_abc", DELIVERY, 1, b"{}")
    assert len({first, signature("whsec_abc", DELIVERY, 1, b"{ }"), signature("whsec_abc", DELIVERY, 2, b"{}"),
                signature("whsec_abd", DELIVERY, 1, b"{}")}) == 4


def test_the_body_names_the_delivery_the_event_and_the_change_and_is_the_same_on_every_attempt() -> None:
    change = StatusChange(DELIVERY, uuid.UUID(int=7), "scored", "score 81.50", AT)
    assert change.body() == change.body()
    assert json.loads(change.body()) == {
        "delivery_id": str(DELIVERY), "event": "application.status_changed", "application_id": str(uuid.UUID(int=7)),
        "status": "scored", "reason": "score 81.50", "at": "2027-01-05T09:30:00+00:00"}


@pytest.mark.parametrize("url", ["https://portal.example.kr/hooks?x=1", "http://127.0.0.1:8080/hook",
                                 "HTTPS://Portal.Example.kr"])
def test_http_and_https_urls_are_accepted(url: str) -> None:
    assert url_problems(url) == []


@pytest.mark.parametrize("url,reason", [
    ("ftp://portal.example.kr", "http or https"), ("mailto:ops@example.kr", "http or https"),
    ("//portal.example.kr/hook", "http or https"), ("https:///hook", "no host"),
    ("https://portal.example.kr:99999/", "not a URL"), ("https://a:b@portal.example.kr/", "credentials"),
])
def test_other_urls_are_refused_with_the_reason(url: str, reason: str) -> None:
    ((field, why),) = url_problems(url)
    assert field == "url" and reason in why


def test_a_new_webhook_gets_its_own_unguessable_secret() -> None:
    hooks = [new_webhook(uuid.uuid4(), uuid.uuid4(), "https://p.example.kr", "", AT) for _ in range(2)]
    assert hooks[0].secret != hooks[1].secret
    assert all(h.secret.startswith("whsec_") and len(h.secret) >= 48 for h in hooks)
    with pytest.raises(InvalidInput):
        new_webhook(uuid.uuid4(), uuid.uuid4(), "file:///etc/passwd", "", AT)


def test_waits_double_from_the_first_delay_up_to_the_longest() -> None:
    policy = RetryPolicy(first_delay_s=10, max_delay_s=60, max_attempts=10)
    assert [policy.delay_s(n) for n in range(1, 6)] == [10, 20, 40, 60, 60]


def test_a_failed_attempt_is_tried_again_until_the_last_which_leaves_it_failed() -> None:
    policy = RetryPolicy(first_delay_s=10, max_delay_s=60, max_attempts=3)
    assert policy.after_failure(1, AT) == (DeliveryState.PENDING, AT + timedelta(seconds=10))
    assert policy.after_failure(2, AT) == (DeliveryState.PENDING, AT + timedelta(seconds=20))
    assert policy.after_failure(3, AT) == (DeliveryState.FAILED, None)


def test_the_default_schedule_keeps_trying_for_about_a_day() -> None:
    policy = WebhookSettings().policy()
    total_s = sum(policy.delay_s(n) for n in range(1, policy.max_attempts))
    assert timedelta(hours=20) < timedelta(seconds=total_s) < timedelta(hours=40)


def test_a_longest_wait_shorter_than_the_first_is_refused() -> None:
    with pytest.raises(ValueError, match="max_delay_s"):
        WebhookSettings(first_delay_s=60, max_delay_s=10)


async def test_only_public_addresses_are_webhook_destinations_unless_private_networks_are_allowed() -> None:
    from intake.adapters.egress import refused_destination

    for url in ("http://127.0.0.1:8080/hook", "http://10.1.2.3/hook", "http://169.254.169.254/latest",
                "http://[::1]/hook", "http://localhost/hook"):
        assert await refused_destination(url, allow_private=False) is not None, url
    assert await refused_destination("http://8.8.8.8/hook", allow_private=False) is None
    assert await refused_destination("http://127.0.0.1/hook", allow_private=True) is None
