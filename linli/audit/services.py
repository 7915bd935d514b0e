"""Writing, sealing, verifying and purging the audit trail and the change history."""

import datetime as dt
import os
import re
from os.path import commonprefix

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone

from linli.core import chain, context, permissions
from linli.core.models import ObjectChange

from . import events
from .masking import mask_text, scrub
from .models import AuditEvent, Outcome

_EVENT_NAME = re.compile(r"^[a-z0-9_]+(\.[a-z0-9_]+)+$")
MIN_RETENTION_DAYS = 180
DEFAULT_RETENTION_DAYS = 365
# Area paths are 4 characters a level (django-treebeard's steplen in linli.areas).
PATH_STEP = 4


def chained_models() -> list:
    """Both chains: the audit trail and the data-change history."""
    return [AuditEvent, ObjectChange]


def _authenticated(user):
    return user if user is not None and getattr(user, "is_authenticated", False) and user.pk else None


def common_path(paths) -> str:
    """The deepest area path above all of ``paths`` ("" when there are none or they share no root)."""
    paths = list(paths)
    if not paths:
        return ""
    common = commonprefix(paths)
    return common[: len(common) - len(common) % PATH_STEP]


def scope_path(user) -> str:
    """The area the user's active role assignments cover ("" for none)."""
    return common_path(g.path for g in permissions.grants(user)) if user is not None else ""


def write_event(
    event: str,
    *,
    user=None,
    obj=None,
    purpose: str = "",
    detail: dict | None = None,
    outcome: str = "ok",
    area_path: str | None = None,
    request=None,
    username: str | None = None,
) -> AuditEvent:
    """:func:`linli.audit.record`, plus ``username`` for events without an account (failed logins)."""
    if not _EVENT_NAME.match(event or "") or len(event) > 64:
        raise ValueError(f"not an audit event name: {event!r} (use a constant from linli.audit.events)")
    if outcome not in Outcome.values:
        raise ValueError(f"outcome must be one of {Outcome.values}, not {outcome!r}")
    ctx = getattr(request, "linli_context", None) or context.current()
    if user is None:
        user = _authenticated(getattr(request, "user", None)) or ctx.user
    user = _authenticated(user)
    ip = request.META.get("REMOTE_ADDR") if request is not None else ctx.ip
    if area_path is None:
        area_path = getattr(obj, "area_path", None) or scope_path(user)
    content_type, object_id, object_repr = None, "", ""
    if obj is not None and hasattr(obj, "_meta"):
        content_type = ContentType.objects.get_for_model(type(obj))
        object_id = "" if obj.pk is None else str(obj.pk)
        object_repr = str(obj)
    name = username if username is not None else getattr(user, "username", "") or ""
    return AuditEvent.objects.create(
        user=user,
        username=mask_text(name)[:150],
        roles=permissions.roles(user) if user is not None else [],
        area_path=area_path or "",
        ip=ip or None,
        request_id=ctx.request_id,
        channel=ctx.channel,
        event=event,
        content_type=content_type,
        object_id=object_id[:64],
        object_repr=mask_text(object_repr)[:200],
        purpose=mask_text(purpose or "")[:500],
        detail=scrub(dict(detail or {})),
        outcome=outcome,
    )


# --- sealing and verification ----------------------------------------------------------------


def seal_all() -> dict[str, int]:
    return {chain.chain_name(m): chain.seal(m) for m in chained_models()}


def verify_all(*, seal_first: bool = True) -> list[chain.Report]:
    """Seal pending rows, then verify both chains and that each purge checkpoint was recorded.

    A checkpoint is only as trustworthy as the record of the purge that set it: the purge writes
    an ``audit.purge`` event (itself in the audit chain) with the checkpoint, and a head whose
    checkpoint no event vouches for is reported, so moving the checkpoint forward cannot hide
    the deletion of old rows.
    """
    if seal_first:
        seal_all()
    reports = [chain.verify(m) for m in chained_models()]
    for report in reports:
        if not report.checkpoint_seq:
            continue
        head = chain.ChainHead.objects.get(chain=report.chain)
        if not _vouches(_purge_record(report.chain), head):
            report.problems.append(
                chain.Problem(
                    report.chain,
                    head.checkpoint_seq,
                    "head",
                    "清理检查点与审计记录中的清理事件不符",
                    "the purge checkpoint does not match any recorded purge event",
                )
            )
    return reports


def _purge_record(chain_label: str) -> dict | None:
    """The detail of the latest ``audit.purge`` event for ``chain_label``."""
    return (
        AuditEvent.objects.filter(event=events.AUDIT_PURGE, detail__chain=chain_label)
        .order_by("-id")
        .values_list("detail", flat=True)
        .first()
    )


def _vouches(detail: dict | None, head: chain.ChainHead) -> bool:
    return bool(detail) and (detail.get("checkpoint_seq"), detail.get("checkpoint_hash")) == (
        head.checkpoint_seq,
        head.checkpoint_hash,
    )


# --- retention -------------------------------------------------------------------------------


def retention_days(value: str | int | None = None) -> int:
    """Days audit and change records are kept: ``LINLI_AUDIT_RETENTION_DAYS``, default 365, ≥ 180.

    China's Cybersecurity Law (art. 21) requires network logs to be kept for at least six months,
    so a shorter period is refused rather than silently raised.
    """
    raw = (
        os.environ.get("LINLI_AUDIT_RETENTION_DAYS", str(DEFAULT_RETENTION_DAYS)) if value is None else value
    )
    try:
        days = int(str(raw).strip())
    except ValueError:
        raise ImproperlyConfigured(
            f"LINLI_AUDIT_RETENTION_DAYS 必须是整数天数 (must be a whole number of days), 当前值 got {raw!r}"
        ) from None
    if days < MIN_RETENTION_DAYS:
        raise ImproperlyConfigured(
            f"审计记录保留期不得少于 {MIN_RETENTION_DAYS} 天，当前为 {days} 天 "
            f"(LINLI_AUDIT_RETENTION_DAYS must be at least {MIN_RETENTION_DAYS} days, got {days})"
        )
    return days


def purge_all(days: int | None = None, *, now: dt.datetime | None = None) -> dict[str, int]:
    """Delete sealed rows older than the retention period from the start of both chains.

    Refuses to run on a chain that does not verify: purging would destroy the evidence. Each
    purge is recorded as an ``audit.purge`` event carrying the new checkpoint.
    """
    days = retention_days(days)
    cutoff = (now or timezone.now()) - dt.timedelta(days=days)
    broken = [r for r in verify_all() if not r.ok]
    if broken:
        raise chain.ChainBroken(
            "审计链校验未通过，拒绝清理 (the chain does not verify; refusing to purge): "
            + "; ".join(str(p) for r in broken for p in r.problems[:3])
        )
    result, heads = {}, []
    for model in chained_models():
        deleted, head = chain.purge(model, cutoff)
        result[head.chain] = deleted
        heads.append(head)
    # Recorded after both purges, so purging the audit chain cannot remove the record that vouches
    # for a checkpoint (it is re-recorded when an old one fell out of retention).
    for head in heads:
        if head.checkpoint_seq and (result[head.chain] or not _vouches(_purge_record(head.chain), head)):
            write_event(
                events.AUDIT_PURGE,
                detail={
                    "chain": head.chain,
                    "rows": result[head.chain],
                    "retention_days": days,
                    "cutoff": cutoff.isoformat(),
                    "checkpoint_seq": head.checkpoint_seq,
                    "checkpoint_hash": head.checkpoint_hash,
                },
            )
    return result
