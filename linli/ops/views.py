"""Health endpoints for load balancers and the administrators' operations page (with its API twin)."""

import os

from django.contrib.auth.views import redirect_to_login
from django.db import DatabaseError, connection
from django.http import JsonResponse
from django.shortcuts import render
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import permissions as drf_permissions
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from linli.core import permissions
from linli.core.views import policy, require_perm

from . import status

POLICY = "ops.view_status"
_migrations_applied = False


def readiness_problems() -> list[dict]:
    """Why this process should not get traffic yet: database, migrations, keyring."""
    global _migrations_applied
    problems = []
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError:
        return [{"check": "database", "zh": "数据库无法连接", "en": "database unreachable"}]
    if not _migrations_applied:
        # Applied migrations stay applied for the life of this process: ask once, then trust it.
        from .checks import pending_migrations

        pending = pending_migrations()
        if pending:
            problems.append({"check": "migrations", "zh": f"有 {len(pending)} 个迁移未执行",
                             "en": f"{len(pending)} migrations not applied"})  # fmt: skip
        else:
            _migrations_applied = True
    if not _keyring_loaded():
        problems.append({"check": "keyring", "zh": "字段加密密钥环未加载", "en": "keyring not loaded"})
    return problems


def _keyring_loaded() -> bool:
    from linli.core.crypto import keyring, keyring_path

    # keyring() would create a missing file: look before touching it.
    if not os.environ.get("LINLI_KEYRING") and not keyring_path().exists():
        return False
    try:
        keyring()
    except Exception:  # noqa: BLE001 - a malformed keyring is simply "not ready"
        return False
    return True


@policy("public")
def readyz(request):
    """Readiness: 200 when this process can serve (database, migrations, keyring), else 503 and why."""
    problems = readiness_problems()
    if problems:
        return JsonResponse({"status": "unavailable", "problems": problems}, status=503)
    return JsonResponse({"status": "ready"})


@policy(POLICY)
def status_page(request):
    """Job queue, overdue events, heartbeats, last backup, disk space and audit sealing lag."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    require_perm(request.user, POLICY)
    from .checks import FAIL, run_all

    results = run_all(skip={"settings", "migrations"})
    return render(request, "ops/status.html", {
        "s": status.collect(), "checks": results, "failed": [r for r in results if r.status == FAIL],
    })  # fmt: skip


class CanViewStatus(drf_permissions.BasePermission):
    def has_permission(self, request, view):
        return bool(
            request.user and request.user.is_authenticated and permissions.has_any(request.user, POLICY)
        )


class OpsStatusSerializer(serializers.Serializer):
    """The operations status (see ``linli.ops.status.collect``); nested objects are free-form."""

    time = serializers.DateTimeField()
    database = serializers.CharField()
    jobs = serializers.DictField()
    events = serializers.DictField()
    heartbeats = serializers.DictField()
    last_backup = serializers.DictField(allow_null=True)
    sealing = serializers.DictField()
    disk = serializers.DictField()
    thresholds = serializers.DictField()


class StatusView(APIView):
    """``GET /api/v1/ops/status/`` — the operations page as JSON, for monitoring systems."""

    linli_policy = POLICY
    permission_classes = [CanViewStatus]

    @extend_schema(operation_id="ops_status", responses={200: OpsStatusSerializer, 403: OpenApiResponse()},
                   tags=["ops"], summary="运维状态 (operations status)")  # fmt: skip
    def get(self, request):
        return Response(status.collect())
