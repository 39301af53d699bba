"""Schemathesis against every service's own OpenAPI document, with each role's token: no answer is a 5xx, and none
contradicts the document (status code, content type, headers, body schema).

The services run as real processes on the test's database and broker; the rate limits are off, or most generated
requests would meet a 429 instead of the code under test. Bounded by FUZZ_EXAMPLES per operation (make test);
set it higher for a deeper run.
"""
from __future__ import annotations

import asyncio
import os
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from support import databases
from support.auth import bearer, csp_id
from support.infra import Infra
from support.kafka import delete_topics_with_prefix
from support.processes import LOG_ROOT, ServiceProcesses

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(1200)]

EXAMPLES = os.environ.get("FUZZ_EXAMPLES", "8")
CHECKS = ("not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,"
          "response_schema_conformance")
SCHEMATHESIS = Path(sys.executable).with_name("st")
ROLES = {"intake": ("operator", "partner"), "evaluation": ("operator", "reviewer"), "allocation": ("operator",),
         "telemetry": ("operator", "csp"), "billing": ("operator", "partner")}


@pytest.fixture(scope="module")
async def services(infra: Infra, template_database: str) -> AsyncIterator[dict[str, str]]:
    """One set of service processes for every run: starting them is most of a run's cost."""
    database = await databases.clone(infra, template_database)
    prefix = f"fz{uuid.uuid4().hex[:8]}."
    env = {f"{s.upper()}_RATE_LIMIT__ENABLED": "false" for s in ROLES}
    processes = ServiceProcesses(infra, database, prefix, extra_env=env)
    try:
        await processes.start("schemathesis")
        yield processes.urls
    finally:
        await processes.stop()
        await databases.drop(infra, database)
        await delete_topics_with_prefix(infra.kafka_bootstrap, prefix)


@pytest.mark.parametrize(("service", "role"), [(s, r) for s, roles in ROLES.items() for r in roles])
async def test_no_answer_is_a_server_error_or_contradicts_the_openapi_document(
        services: dict[str, str], service: str, role: str) -> None:
    report = LOG_ROOT / "schemathesis" / f"{service}-{role}.xml"
    report.parent.mkdir(parents=True, exist_ok=True)
    token = bearer(role, csp_id("fuzz-csp") if role == "csp" else None)["Authorization"]
    run = await asyncio.create_subprocess_exec(
        str(SCHEMATHESIS), "run", f"{services[service]}/openapi.json", "--checks", CHECKS,
        "--phases", "examples,coverage,fuzzing", "--max-examples", EXAMPLES, "--seed", "20261130",
        "--workers", "1", "--request-timeout", "20", "--header", f"Authorization: {token}",
        "--suppress-health-check", "all", "--report", "junit", "--report-junit-path", str(report),
        "--output-truncate", "true", stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        env={**os.environ, "SCHEMATHESIS_HOOKS": "schemathesis_hooks", "PYTHONPATH": str(Path(__file__).parent)},
        cwd=report.parent)  # where it keeps its example database: under .local, not in the work tree
    output, _ = await run.communicate()
    text = output.decode(errors="replace")
    assert run.returncode == 0, text[-6000:]
    assert "No issues found" in text or " passed" in text, text[-2000:]
