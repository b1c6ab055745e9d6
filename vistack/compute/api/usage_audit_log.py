"""`GET /v2.1/os-instance_usage_audit_log` and `.../{before_timestamp}` (an administrator's):
the report of Nova's periodic instance usage audit for the last completed month before now
or before the timestamp (`YYYY-MM-DD hh:mm:ss[.ffffff]`; anything else is 400). This cloud
runs no such audit, so every compute host shows as not run (domain/usage_audit.py)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from vistack.common.web import JSONBody
from vistack.compute.api.deps import Context, Services
from vistack.compute.domain.small_apis import required

router = APIRouter()


@router.get("/v2.1/os-instance_usage_audit_log")
def list_usage_audit_logs(services: Services, context: Context) -> Response:
    report = required(services.small_apis).audit_log.report(context)
    return JSONBody({"instance_usage_audit_logs": report.view()})


@router.get("/v2.1/os-instance_usage_audit_log/{before_timestamp}")
def show_usage_audit_log(before_timestamp: str, services: Services, context: Context) -> Response:
    report = required(services.small_apis).audit_log.report(context, before_timestamp)
    return JSONBody({"instance_usage_audit_log": report.view()})
