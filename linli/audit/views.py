"""The auditor's pages: the audit trail and the data-change history, searchable and exportable.

Every view requires ``audit.view_auditevent`` (the auditor role holds ``audit.*``) and shows
only rows in the auditor's area scope; rows without an area (system events, failed logins of
unknown names) belong to auditors scoped at a root of the area tree. Values are shown masked.
"""

import json
from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import StreamingHttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.utils.translation import gettext

from linli.core import permissions
from linli.core.models import ObjectChange
from linli.core.scope import paths_q

from . import events
from .csvexport import stream_rows
from .filtersets import AuditEventFilterSet, ObjectChangeFilterSet
from .masking import mask_text, scrub
from .models import AuditEvent
from .services import PATH_STEP, write_event

POLICY = "audit.view_auditevent"
CHANGES_POLICY = "core.view_objectchange"
PAGE_SIZE = 50
ENCRYPTED = "［已加密 encrypted］"


def auditor_view(view=None, *, policy: str = POLICY):
    """Anonymous → login; without the policy's permission → 403. Declares the route policy."""
    if view is None:
        return lambda v: auditor_view(v, policy=policy)

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not permissions.has_perm(request.user, policy):
            raise PermissionDenied(gettext("仅审计员可以查看审计记录 (auditors only)"))
        return view(request, *args, **kwargs)

    wrapped.linli_policy = policy
    return wrapped


def scoped(queryset, user):
    """Rows under the auditor's area assignments, plus area-less rows for root-level auditors."""
    policy = CHANGES_POLICY if queryset.model is ObjectChange else POLICY
    paths = permissions.scope_paths(user, policy)
    if not paths:
        return queryset.none()
    q = paths_q(paths)
    if any(len(p) <= PATH_STEP for p in paths):
        q |= Q(area_path="")
    return queryset.filter(q)


def _query_without(request, *names) -> str:
    params = request.GET.copy()
    for name in names:
        params.pop(name, None)
    return params.urlencode()


def _filters_used(filterset) -> dict:
    if not filterset.form.is_valid():
        return {}
    return {k: str(v) for k, v in filterset.form.cleaned_data.items() if v not in (None, "")}


def _list(request, filterset_class, queryset, template, extra=None):
    filterset = filterset_class(request.GET or None, queryset=scoped(queryset, request.user))
    page = Paginator(filterset.qs, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "filterset": filterset,
        "page": page,
        "query": _query_without(request, "page"),
        **(extra or {}),
    }
    return render(request, template, context)


def _export(request, filterset_class, queryset, what, header, row):
    filterset = filterset_class(request.GET or None, queryset=scoped(queryset, request.user))
    rows = filterset.qs
    count = rows.count()
    filters = _filters_used(filterset)
    record = write_event(
        events.EXPORT, request=request, detail={"what": what, "rows": count, "filters": filters}
    )
    # The export's own record is not part of what was asked for (nor of the count it states).
    exported = rows.exclude(pk=record.pk) if rows.model is AuditEvent else rows
    now = timezone.localtime()
    meta = [
        "导出人 Exported by",
        request.user.username,
        "导出时间",
        f"{now:%Y-%m-%d %H:%M:%S}",
        "记录数",
        count,
    ]

    def lines():
        yield meta
        yield header
        for obj in exported.iterator(chunk_size=2000):
            yield row(obj)

    response = StreamingHttpResponse(stream_rows(lines()), content_type="text/csv; charset=utf-8")
    name = f"{what.replace('.', '-')}-{now:%Y%m%d-%H%M%S}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


# --- the audit trail -------------------------------------------------------------------------

EVENT_HEADER = [
    "时间",
    "用户",
    "角色",
    "区域路径",
    "IP",
    "请求编号",
    "渠道",
    "事件",
    "事件名",
    "结果",
    "对象类型",
    "对象编号",
    "对象",
    "事由",
    "详情",
    "链序号",
    "哈希",
]


def _event_row(e: AuditEvent) -> list:
    return [
        f"{timezone.localtime(e.time):%Y-%m-%d %H:%M:%S}",
        e.username,
        ",".join(e.roles or []),
        e.area_path,
        e.ip or "",
        e.request_id or "",
        e.get_channel_display(),
        e.event_label,
        e.event,
        e.get_outcome_display(),
        e.content_type.name if e.content_type_id else "",
        e.object_id,
        e.object_repr,
        e.purpose,
        json.dumps(scrub(e.detail), ensure_ascii=False, sort_keys=True),
        e.seal_seq or "",
        e.hash,
    ]


def _events():
    return AuditEvent.objects.select_related("content_type")


@auditor_view
def event_list(request):
    return _list(request, AuditEventFilterSet, _events(), "audit/event_list.html", {"tab": "events"})


@auditor_view
def event_detail(request, pk):
    event = get_object_or_404(scoped(_events(), request.user), pk=pk)
    detail = json.dumps(scrub(event.detail), ensure_ascii=False, sort_keys=True, indent=2)
    # Data changes are logged under integer ids; other objects (sessions, tokens by prefix) have none.
    history_link = event.content_type_id is not None and event.object_id.isdigit()
    context = {"event": event, "detail": detail, "history_link": history_link, "tab": "events"}
    return render(request, "audit/event_detail.html", context)


@auditor_view
def event_export(request):
    return _export(request, AuditEventFilterSet, _events(), "audit.auditevent", EVENT_HEADER, _event_row)


# --- the data-change history -----------------------------------------------------------------

CHANGE_HEADER = [
    "时间",
    "用户",
    "请求编号",
    "渠道",
    "操作",
    "对象类型",
    "对象编号",
    "对象",
    "区域路径",
    "变更字段",
    "修改前",
    "修改后",
    "备注",
    "链序号",
    "哈希",
]


def shown(value) -> str:
    """A history value as an auditor may see it: ciphertext hidden, IDs and phones masked."""
    if value is None:
        return ""
    if isinstance(value, str):
        return ENCRYPTED if value.startswith("enc:") else mask_text(value)
    return mask_text(json.dumps(value, ensure_ascii=False))


def _changed_values(change: ObjectChange, state: dict | None) -> str:
    if not state:
        return ""
    keys = change.changed_fields if change.postchange else sorted(state)
    return json.dumps({k: shown(state.get(k)) for k in keys}, ensure_ascii=False)


def _change_row(c: ObjectChange) -> list:
    return [
        f"{timezone.localtime(c.time):%Y-%m-%d %H:%M:%S}",
        c.user_name,
        c.request_id or "",
        c.get_channel_display(),
        c.get_action_display(),
        c.content_type.name,
        c.object_id,
        mask_text(c.object_repr),
        c.area_path,
        ",".join(c.changed_fields),
        _changed_values(c, c.prechange),
        _changed_values(c, c.postchange),
        mask_text(c.note),
        c.seal_seq or "",
        c.hash,
    ]


def _changes():
    return ObjectChange.objects.select_related("content_type")


def _field_rows(change: ObjectChange) -> list[dict]:
    """One row per field: label, value before, value after, whether this change set it."""
    model = change.content_type.model_class()
    labels = {}
    if model is not None:
        labels = {f.attname: str(f.verbose_name) for f in model._meta.concrete_fields}
    before, after = change.prechange or {}, change.postchange or {}
    names = sorted(set(before) | set(after), key=lambda n: (n not in after, n))
    return [
        {
            "name": name,
            "label": labels.get(name, name),
            "before": shown(before.get(name)),
            "after": shown(after.get(name)) if name in after else "",
            "changed": name in after,
        }
        for name in names
    ]


@auditor_view(policy=CHANGES_POLICY)
def change_list(request):
    return _list(request, ObjectChangeFilterSet, _changes(), "audit/change_list.html", {"tab": "changes"})


@auditor_view(policy=CHANGES_POLICY)
def change_detail(request, pk):
    change = get_object_or_404(scoped(_changes(), request.user), pk=pk)
    context = {"change": change, "fields": _field_rows(change), "object_repr": mask_text(change.object_repr)}
    return render(request, "audit/change_detail.html", {**context, "tab": "changes"})


@auditor_view(policy=CHANGES_POLICY)
def change_export(request):
    return _export(
        request, ObjectChangeFilterSet, _changes(), "core.objectchange", CHANGE_HEADER, _change_row
    )
