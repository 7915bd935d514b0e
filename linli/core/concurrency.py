"""Optimistic concurrency for API updates: a stale write is refused, never silently applied.

Clients send the version they read, either as ``If-Match: "<version>"`` (answered 412 when stale)
or as ``version`` in the body (answered 409). An update without either is refused with 428, so a
client cannot skip the check by omission. The row is locked while the versions are compared.
"""

from django.utils.translation import gettext_lazy as _
from rest_framework import status
from rest_framework.exceptions import APIException


class PreconditionFailed(APIException):
    status_code = status.HTTP_412_PRECONDITION_FAILED
    default_detail = _("记录已被他人修改，请刷新后重试 (the record changed since you read it)")
    default_code = "stale"


class VersionConflict(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = _("记录已被他人修改，请刷新后重试 (the record changed since you read it)")
    default_code = "stale"


class PreconditionRequired(APIException):
    status_code = 428
    default_detail = _("请通过 If-Match 头或 version 字段提供读取时的版本号 (send If-Match or version)")
    default_code = "version_required"


def etag(obj) -> str:
    return f'"{obj.version}"'


def check_version(request, locked_obj) -> None:
    if_match = request.headers.get("If-Match")
    if if_match:
        wanted = {tag.strip().removeprefix("W/") for tag in if_match.split(",")}
        if "*" not in wanted and etag(locked_obj) not in wanted:
            raise PreconditionFailed()
        return
    body_version = request.data.get("version") if hasattr(request.data, "get") else None
    if body_version is None:
        raise PreconditionRequired()
    try:
        if int(body_version) != locked_obj.version:
            raise VersionConflict()
    except (TypeError, ValueError):
        raise VersionConflict() from None
