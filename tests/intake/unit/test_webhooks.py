"""Webhooks without a database: URLs and destinations accepted, the signature scheme, and the retry schedule."""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import ipaddress
import json
import socket
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from standardwebhooks.webhooks import Webhook

from intake.adapters.egress import Destination, IPAddress, Resolver, address_problem, checked_destination
from intake.adapters.webhook_delivery import WebhookSettings
from intake.domain.errors import InvalidInput
from intake.domain.webhooks import (
    DeliveryState,
    RetryPolicy,
    StatusChange,
    new_secret,
    new_webhook,
    signature,
    url_problems,
)

AT = datetime(2027, 1, 5, 9, 30, tzinfo=UTC)
DELIVERY = uuid.UUID("6f1c2a4e-0000-4000-8000-000000000001")
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"  # the Standard Webhooks specification's example secret


def test_the_signature_is_v1_and_the_base64_hmac_of_id_timestamp_and_body_keyed_with_the_secrets_bytes() -> None:
    body = b'{"status":"scored"}'
    key = base64.b64decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
    digest = hmac.new(key, f"{DELIVERY}.1767225600.".encode() + body, hashlib.sha256).digest()
    assert signature(SECRET, DELIVERY, 1767225600, body) == "v1," + base64.b64encode(digest).decode()


def test_the_signature_is_the_one_the_standard_webhooks_library_computes() -> None:
    body = b'{"status":"scored"}'
    expected = Webhook(SECRET).sign(str(DELIVERY), datetime.fromtimestamp(1767225600, UTC), body.decode())
    assert signature(SECRET, DELIVERY, 1767225600, body) == expected


def test_a_change_to_the_body_the_timestamp_or_the_secret_changes_the_signature() -> None:
    other = new_secret()
    first = signature(SECRET, DELIVERY, 1, b"{}")
    assert len({first, signature(SECRET, DELIVERY, 1, b"{ }"), signature(SECRET, DELIVERY, 2, b"{}"),
                signature(other, DELIVERY, 1, b"{}")}) == 4


def test_a_secret_that_is_not_base64_signs_nothing() -> None:
    with pytest.raises(binascii.Error):
        signature("whsec_not-url_safe-base64", DELIVERY, 1, b"{}")


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


def test_plain_http_is_refused_unless_allowed() -> None:
    ((field, why),) = url_problems("http://portal.example.kr/hook", allow_http=False)
    assert field == "url" and "https" in why
    assert url_problems("https://portal.example.kr/hook", allow_http=False) == []


def test_a_new_webhook_gets_its_own_unguessable_secret_holding_32_base64_bytes() -> None:
    hooks = [new_webhook(uuid.uuid4(), uuid.uuid4(), "https://p.example.kr", "", AT) for _ in range(2)]
    assert hooks[0].secret != hooks[1].secret
    assert all(h.secret.startswith("whsec_") for h in hooks)
    assert all(len(base64.b64decode(h.secret.removeprefix("whsec_"), validate=True)) == 32 for h in hooks)
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


def resolving(*addresses: str) -> Resolver:
    """A resolver that answers every name with these addresses, in place of DNS."""

    async def resolve(host: str, port: int) -> list[IPAddress]:
        return [ipaddress.ip_address(a) for a in addresses]

    return resolve


async def unresolvable(host: str, port: int) -> list[IPAddress]:
    raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")


@pytest.mark.parametrize("address,kind", [
    ("127.0.0.1", "loopback"), ("::1", "loopback"), ("::ffff:127.0.0.1", "loopback"),
    ("169.254.10.1", "link-local"), ("fe80::1", "link-local"), ("10.1.2.3", "private"), ("172.16.0.1", "private"),
    ("192.168.1.1", "private"), ("fd12:3456::1", "unique-local"), ("224.0.0.1", "multicast"), ("ff02::1", "multicast"),
    ("240.0.0.1", "reserved"), ("0.0.0.0", "unspecified"), ("::", "unspecified"), ("100.64.0.1", "special-purpose"),
    ("169.254.169.254", "metadata"), ("fd00:ec2::254", "metadata"),
])
def test_non_public_addresses_are_refused_with_their_kind(address: str, kind: str) -> None:
    why = address_problem(ipaddress.ip_address(address), allow_private=False)
    assert why is not None and kind in why


def test_private_networks_may_be_allowed_but_never_the_metadata_service() -> None:
    assert address_problem(ipaddress.ip_address("10.1.2.3"), allow_private=True) is None
    assert address_problem(ipaddress.ip_address("127.0.0.1"), allow_private=True) is None
    assert address_problem(ipaddress.ip_address("169.254.169.254"), allow_private=True) is not None
    assert address_problem(ipaddress.ip_address("fd00:ec2::254"), allow_private=True) is not None
    assert address_problem(ipaddress.ip_address("93.184.215.14"), allow_private=False) is None


async def test_a_destination_is_pinned_to_the_checked_address_and_keeps_the_hosts_name_for_http_and_tls() -> None:
    target = await checked_destination("https://hooks.example.kr:8443/in?x=1", allow_private=False,
                                       allow_http=False, resolve=resolving("93.184.215.14", "2606:2800:21f::1"))
    assert isinstance(target, Destination)
    assert str(target.url) == "https://93.184.215.14:8443/in?x=1"
    assert target.headers == {"Host": "hooks.example.kr:8443"}
    assert target.extensions == {"sni_hostname": "hooks.example.kr"}


async def test_an_address_literal_is_connected_to_as_it_is_without_resolving_nor_sni() -> None:
    target = await checked_destination("https://[2606:2800:21f::1]/in", allow_private=False, allow_http=False,
                                       resolve=unresolvable)
    assert isinstance(target, Destination)
    assert (str(target.url), target.headers, target.extensions) == (
        "https://[2606:2800:21f::1]/in", {"Host": "[2606:2800:21f::1]"}, {})


@pytest.mark.parametrize("url,resolve,reason", [
    ("https://hooks.example.kr/", resolving("93.184.215.14", "10.0.0.5"), "10.0.0.5, a private address"),
    ("https://hooks.example.kr/", resolving("169.254.169.254"), "metadata"),
    ("https://hooks.example.kr/", resolving(), "has no address"),
    ("https://hooks.example.kr/", unresolvable, "cannot resolve hooks.example.kr"),
    ("http://hooks.example.kr/", resolving("93.184.215.14"), "https"),
    ("https://me:pw@hooks.example.kr/", resolving("93.184.215.14"), "credentials"),
])
async def test_a_destination_is_refused_when_any_of_its_addresses_or_its_url_is(
        url: str, resolve: Resolver, reason: str) -> None:
    problems = await checked_destination(url, allow_private=False, allow_http=False, resolve=resolve)
    assert isinstance(problems, list)
    ((field, why),) = problems
    assert field == "url" and reason in why
