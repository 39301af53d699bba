"""What the page reads from and does at the owning services, through the dashboard, with the operator's token.

`GET /upstream/{service}/{path}` reads (supply and capacity from allocation, freshness from telemetry, calls from
intake); `POST /actions/{service}/{path}` acts (reclaim now, waive, close a call, re-drive a dead letter). Only the
pairs in `READS` and `ACTIONS` pass; the owning service checks the token and the request as it always does, and
its answer comes back as it was. An action by session cookie must carry the session's CSRF token.
"""
from __future__ import annotations

import contextlib
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Path, Request
from fastapi.responses import Response

from dashboard.domain.commands import MarkRedriven
from dashboard.domain.errors import DeadLetterNotFound
from dashboard.entrypoints.session import CallerToken
from dashboard.entrypoints.upstream import ACTIONS, READS, REDRIVE, allowed, upstream_of
from servicekit.auth import AUTH_RESPONSES, OPERATOR_ONLY, Operator, authenticated
from servicekit.http import PROBLEM_RESPONSES, FieldError, problem
from servicekit.runtime import Bus

router = APIRouter(responses={**PROBLEM_RESPONSES, **AUTH_RESPONSES, 502: {"description": "The service is down"}},
                   dependencies=[Depends(authenticated), OPERATOR_ONLY])
Service = Annotated[str, Path(pattern=r"^[a-z]{1,20}$")]
Target = Annotated[str, Path(max_length=300)]


def _not_offered(service: str, path: str) -> Response:
    return problem(404, "Not Found", f"the dashboard does not pass {service}/{path} on",
                   [FieldError(field="path", reason="not_offered")])


@router.get("/upstream/{service}/{path:path}", tags=["upstream"],
            summary="A read of an owning service, for the page (capacity, waitlist, freshness, calls)")
async def read(service: Service, path: Target, request: Request, token: CallerToken) -> Response:
    if not allowed(READS, service, path):
        return _not_offered(service, path)
    return await upstream_of(request).call("GET", service, path, token, params=request.query_params)


@router.post("/actions/{service}/{path:path}", tags=["upstream"],
             summary="An operator action at its owning service: reclaim now, waive, close a call, re-drive",
             description="A dead letter that its service re-drove is marked re-driven here, by the operator.")
async def act(service: Service, path: Target, request: Request, token: CallerToken, caller: Operator, bus: Bus,
              body: Annotated[dict[str, Any] | None, Body()] = None) -> Response:
    if not allowed(ACTIONS, service, path):
        return _not_offered(service, path)
    answer = await upstream_of(request).call("POST", service, path, token, body=body)
    if path == REDRIVE and answer.status_code == 200 and body is not None:
        with contextlib.suppress(DeadLetterNotFound):  # re-driven before this dashboard read it: nothing to mark
            await bus.handle(MarkRedriven(str(body["topic"]), int(body["partition"]), int(body["offset"]),
                                          by=caller.client_id))
    return answer
