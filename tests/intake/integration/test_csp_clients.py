"""A CSP's client is linked to a CSP of allocation's inventory by the CSP's id, which intake learns from allocation's
CspRegistered over Kafka; telemetry then matches the token to the CSP's servers by that id, never by a name."""
from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from alembic import command

from contracts import GpuSlot, ResourceAllocated
from intake.domain.commands import RecordCsp
from servicekit.migrations import alembic_config, upgrade
from support.auth import OPERATOR
from support.services import SERVICES
from support.stack import Stack, eventually
from telemetry.entrypoints.consumer import track_allocation

NDJSON = {"Content-Type": "application/x-ndjson"}
STARTS_AT = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=2)


async def registered(stack: Stack, *names: str) -> dict[str, str]:
    """The CSPs registered in allocation's inventory, and heard of by intake (allocation's relay, intake's
    consumer): name → id."""
    async with stack.api("allocation") as api:
        created = [await api.post("/csps", json={"name": name}, headers=OPERATOR) for name in names]
    ids = {r.json()["name"]: r.json()["id"] for r in created}
    async with stack.worker("allocation"), stack.worker("intake"):
        async def heard() -> bool | None:
            rows = await stack.fetch("SELECT csp_id::text, name FROM intake.csp")
            return True if {r["name"]: r["csp_id"] for r in rows} == ids else None
        await eventually(heard, what="intake to hear of the CSPs allocation registered")
    return ids


async def client_for(api: httpx.AsyncClient, subject: str) -> httpx.Response:
    return await api.post("/clients", json={"role": "csp", "name": "a CSP's exporter", "subject": subject},
                          headers=OPERATOR)


async def token(api: httpx.AsyncClient, client: dict[str, Any]) -> dict[str, str]:
    response = await api.post("/oauth/token", data={"grant_type": "client_credentials"},
                              auth=(client["client_id"], client["client_secret"]))
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def allocated_on(server: str, *, csp_name: str, csp_id: str) -> ResourceAllocated:
    """An allocation of the server's 2 GPUs, as allocation announces it: the CSP by name and by id."""
    return ResourceAllocated(
        application_id=uuid.uuid4(), allocation_id=uuid.uuid4(), program="P3", gpu_model="H100", gpus=2,
        slots=[GpuSlot(server_id=uuid.uuid4(), server_name=server, csp=csp_name, csp_id=uuid.UUID(csp_id),
                       gpu_index=i) for i in range(2)],
        starts_at=STARTS_AT, ends_at=STARTS_AT + timedelta(days=30), planned_gpu_hours_per_month=730)


def samples(server: str) -> str:
    """A sample of each of the server's 2 GPUs, taken a minute ago."""
    at = (datetime.now(UTC) - timedelta(minutes=1)).isoformat().replace("+00:00", "Z")
    return "".join(f'{{"server": "{server}", "gpu_index": {i}, "ts": "{at}", "utilization_pct": 50.0}}\n'
                   for i in range(2))


async def test_a_csp_client_for_an_id_no_registered_csp_has_is_refused_naming_subject_and_nothing_stored(
        stack: Stack) -> None:
    ids = await registered(stack, "alpha-cloud")
    async with stack.api("intake") as api:
        refused = {subject: await client_for(api, subject)
                   for subject in (str(uuid.uuid4()), "alpha-cloud")}  # an unknown id; the CSP's name
        created = await client_for(api, ids["alpha-cloud"])
    for subject, response in refused.items():
        assert response.status_code == 422, (subject, response.text)
        assert [e["field"] for e in response.json()["errors"]] == ["subject"]
    assert (created.status_code, created.json()["subject"]) == (201, ids["alpha-cloud"])
    assert await stack.count("intake.client") == 1  # the registered CSP's alone


async def test_a_registered_csp_s_client_gets_a_token_that_reports_on_its_own_servers(stack: Stack) -> None:
    ids = await registered(stack, "alpha-cloud")
    await stack.handle("telemetry", track_allocation(allocated_on("alpha-01", csp_name="alpha-cloud",
                                                                  csp_id=ids["alpha-cloud"])))
    async with stack.api("intake") as issuer:
        alpha = await token(issuer, (await client_for(issuer, ids["alpha-cloud"])).json())
    async with stack.api("telemetry") as telemetry:
        posted = await telemetry.post("/samples", content=samples("alpha-01"), headers={**NDJSON, **alpha})
        hosts = await telemetry.put(f"/csps/{ids['alpha-cloud']}/hosts/node-1", json={"server": "alpha-01"},
                                    headers=alpha)
    assert (posted.status_code, posted.json()["accepted"]) == (202, 2), posted.text
    assert (hosts.status_code, hosts.json()["csp_id"]) == (200, ids["alpha-cloud"])


async def test_a_csp_named_like_another_cannot_see_or_report_on_the_other_s_servers(stack: Stack) -> None:
    ids = await registered(stack, "alpha-cloud", "beta-cloud")
    # alpha's server, announced under beta's name (alpha renamed so, or a stale name): the id decides
    event = allocated_on("alpha-01", csp_name="beta-cloud", csp_id=ids["alpha-cloud"])
    await stack.handle("telemetry", track_allocation(event))
    async with stack.api("intake") as issuer:
        alpha, beta = [await token(issuer, (await client_for(issuer, ids[name])).json())
                       for name in ("alpha-cloud", "beta-cloud")]
    async with stack.api("telemetry") as telemetry:
        by_beta = await telemetry.post("/samples", content=samples("alpha-01"), headers={**NDJSON, **beta})
        seen_by_beta = await telemetry.get(f"/allocations/{event.allocation_id}/utilization", headers=beta)
        hosts_by_beta = await telemetry.get(f"/csps/{ids['alpha-cloud']}/hosts", headers=beta)
        seen_by_alpha = await telemetry.get(f"/allocations/{event.allocation_id}/utilization", headers=alpha)
    assert by_beta.status_code == 403
    assert [e["field"] for e in by_beta.json()["errors"]] == ["line 1: server", "line 2: server"]
    assert (seen_by_beta.status_code, hosts_by_beta.status_code) == (404, 403)
    assert seen_by_alpha.status_code == 200
    assert await stack.count("telemetry.sample") == 0


async def test_a_csp_client_linked_by_name_before_ids_gets_no_token(stack: Stack) -> None:
    """A client made when a CSP's client named it by its name acts for no CSP of the inventory: no token."""
    await stack.handle("intake", RecordCsp(uuid.uuid4(), "alpha-cloud", datetime.now(UTC)))
    async with stack.api("intake") as api:
        created = await client_for(api, (await stack.fetch("SELECT csp_id::text FROM intake.csp"))[0][0])
        client = created.json()
        await stack.fetch("UPDATE intake.client SET subject = 'alpha-cloud' WHERE client_id = $1",
                          client["client_id"])
        refused = await api.post("/oauth/token", data={"grant_type": "client_credentials"},
                                 auth=(client["client_id"], client["client_secret"]))
    assert (refused.status_code, refused.json()["error"]) == (401, "invalid_client")


async def test_the_upgrade_revokes_the_csp_clients_that_named_their_csp_by_name(stack: Stack) -> None:
    migrations, url = SERVICES["intake"].migrations, stack.settings("intake").db.url
    await asyncio.to_thread(command.downgrade, alembic_config(migrations, url), "0010")
    kept = str(uuid.uuid4())
    for client_id, subject in (("csp-by-name", "alpha-cloud"), ("csp-by-id", kept)):
        await stack.fetch("INSERT INTO intake.client (client_id, secret_hash, role, subject, name) "
                          "VALUES ($1, 'scrypt$x', 'csp', $2, 'exporter')", client_id, subject)
    await asyncio.to_thread(upgrade, migrations, url)
    rows = await stack.fetch("SELECT client_id, revoked_at IS NOT NULL AS revoked FROM intake.client "
                             "ORDER BY client_id")
    assert [tuple(r) for r in rows] == [("csp-by-id", False), ("csp-by-name", True)]
    assert await stack.count("intake.csp") == 0
