"""User administration for holders of ``accounts.*`` (the ``admin`` role): users, roles, tokens.

Scope: a user is in an administrator's scope when *all* of that user's role assignments lie
inside the administrator's subtrees; users without any assignment are visible to district-level
administrators only. A user outside the scope answers 404, like any scoped object; an
administrator grants roles only on area nodes inside their own subtree.

Role grants/revocations and disabling/enabling are recorded in the audit trail by signals
(``linli.audit.signals``); password resets, token issue/revoke and killed sessions here.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.sessions.models import Session
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Q
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy
from django.views.decorators.http import require_POST

from linli.audit import events, record
from linli.core import permissions
from linli.core.scope import paths_q
from linli.core.views import policy, require_perm

from .manage_forms import (
    GrantForm,
    PasswordResetForm,
    TokenForm,
    UserCreateForm,
    UserEditForm,
    UserFilterForm,
)
from .models import PASSWORD_MUST_CHANGE, ApiToken, RoleAssignment, User

# A password set by an administrator must be changed at first login: a change date this old is
# past any expiry, so SessionPolicyMiddleware.password_expired() sends the user to the change page.
DISTRICT_PATH_LENGTH = 4


# -- scope ----------------------------------------------------------------------------------------
def users_in_scope(admin, perm: str = "accounts.view_user"):
    """Users whose every role assignment lies inside the subtrees where ``admin`` holds ``perm``."""
    paths = permissions.scope_paths(admin, perm)
    if not paths:
        return User.objects.none()
    outside = RoleAssignment.objects.exclude(paths_q(paths)).values("user")
    users = User.objects.exclude(pk__in=outside)
    if not any(len(p) <= DISTRICT_PATH_LENGTH for p in paths):
        users = users.filter(pk__in=RoleAssignment.objects.values("user"))
    return users


def _target(request, pk: int, perm: str) -> User:
    require_perm(request.user, perm)
    return get_object_or_404(users_in_scope(request.user, perm), pk=pk)


def end_sessions(user) -> int:
    """Delete every live Django session of ``user`` (the login stops working at once)."""
    doomed = [
        s.pk
        for s in Session.objects.filter(expire_date__gt=timezone.now())
        if str(s.get_decoded().get("_auth_user_id")) == str(user.pk)
    ]
    Session.objects.filter(pk__in=doomed).delete()
    return len(doomed)


# -- pages ----------------------------------------------------------------------------------------
@policy("accounts.view_user")
@login_required
def user_list(request):
    require_perm(request.user, "accounts.view_user")
    form = UserFilterForm(request.GET or None, user=request.user)
    users = users_in_scope(request.user).order_by("username")
    if form.is_valid():
        data = form.cleaned_data
        if data["q"]:
            q = data["q"].strip()
            users = users.filter(Q(username__icontains=q) | Q(full_name__icontains=q) | Q(phone__contains=q))
        if data["role"]:
            users = users.filter(assignments__role=data["role"], assignments__active=True)
        if data["area"]:
            users = users.filter(
                assignments__area_path__startswith=data["area"].path, assignments__active=True
            )
        if data["active"] in ("0", "1"):
            users = users.filter(is_active=data["active"] == "1")
        users = users.distinct()
    page = Paginator(users.prefetch_related("assignments__role", "assignments__area"), 50).get_page(
        request.GET.get("page")
    )
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "accounts/manage/user_list.html",
        {"form": form, "page_obj": page, "object_list": page.object_list, "query_string": query.urlencode()},
    )


@policy("accounts.add_user")
@login_required
def user_create(request):
    require_perm(request.user, "accounts.add_user")
    district = any(
        len(p) <= DISTRICT_PATH_LENGTH for p in permissions.scope_paths(request.user, "accounts.add_user")
    )
    form = UserCreateForm(request.POST or None)
    grant = GrantForm(request.POST or None, admin=request.user, prefix="grant")
    if not district:
        grant.fields["role"].help_text = gettext("非区级管理员新建用户时须同时分配角色")
    else:
        grant.fields["role"].required = grant.fields["area"].required = False
    if request.method == "POST" and form.is_valid() and grant.is_valid():
        with transaction.atomic():
            user = form.save(commit=False)
            user.set_password(form.cleaned_data["password1"])
            user.password_changed_at = PASSWORD_MUST_CHANGE
            user.save()
            if grant.cleaned_data.get("role") and grant.cleaned_data.get("area"):
                RoleAssignment.objects.create(
                    user=user,
                    role=grant.cleaned_data["role"],
                    area=grant.cleaned_data["area"],
                    granted_by=request.user,
                )
        messages.success(
            request, gettext("已创建用户 %(username)s，首次登录须修改密码") % {"username": user.username}
        )
        return redirect("manage:user", pk=user.pk)
    return render(
        request,
        "accounts/manage/user_form.html",
        {"form": form, "grant": grant, "title": gettext("新建用户")},
    )


@policy("accounts.view_user")
@login_required
def user_detail(request, pk):
    target = _target(request, pk, "accounts.view_user")
    can_grant = permissions.has_any(request.user, "accounts.change_roleassignment")
    return render(
        request,
        "accounts/manage/user_detail.html",
        {
            "target": target,
            "assignments": target.assignments.select_related("role", "area").order_by("-active", "area_path"),
            "tokens": target.api_tokens.order_by("-created_at"),
            "grant": GrantForm(admin=request.user) if can_grant else None,
            "token_form": TokenForm(),
            "new_key": request.session.pop("linli_new_token", None),
        },
    )


@policy("accounts.change_user")
@login_required
def user_edit(request, pk):
    target = _target(request, pk, "accounts.change_user")
    form = UserEditForm(request.POST or None, instance=target)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, gettext("已保存"))
        return redirect("manage:user", pk=target.pk)
    return render(
        request,
        "accounts/manage/user_form.html",
        {"form": form, "target": target, "title": gettext("编辑：%(target)s") % {"target": target}},
    )


@policy("accounts.change_user")
@login_required
@require_POST
def user_active(request, pk):
    """Disable or enable a user. Disabling ends their sessions and revokes their API tokens at once."""
    target = _target(request, pk, "accounts.change_user")
    enable = request.POST.get("active") == "1"
    if target.pk == request.user.pk and not enable:
        messages.error(request, gettext("不能停用自己的账号"))
        return redirect("manage:user", pk=target.pk)
    with transaction.atomic():
        target.is_active = enable
        target.save(update_fields=["is_active"])  # the audit signal records disable/enable
        if not enable:
            killed = end_sessions(target)
            revoked = ApiToken.objects.filter(user=target, revoked=False).update(revoked=True)
            if killed or revoked:
                record(
                    events.SESSION_KILLED, obj=target, detail={"sessions": killed, "tokens_revoked": revoked}
                )
    messages.success(
        request, gettext("已启用账号") if enable else gettext("已停用账号，其会话和接口令牌已失效")
    )
    return redirect("manage:user", pk=target.pk)


@policy("accounts.change_user")
@login_required
def user_password(request, pk):
    """Set a new password that the user must change at the next login."""
    target = _target(request, pk, "accounts.change_user")
    form = PasswordResetForm(request.POST or None, instance=target)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            target.set_password(form.cleaned_data["password1"])
            target.password_changed_at = PASSWORD_MUST_CHANGE
            target.save(update_fields=["password", "password_changed_at"])
            record(events.PASSWORD_CHANGED, obj=target, detail={"reset_by_admin": True})
        messages.success(request, gettext("已重置密码，用户下次登录须修改密码"))
        return redirect("manage:user", pk=target.pk)
    return render(
        request,
        "accounts/manage/user_form.html",
        {"form": form, "target": target, "title": gettext("重置密码：%(target)s") % {"target": target}},
    )


SELF_GRANT = gettext_lazy("不能给自己授予或撤销角色，请由其他管理员办理 (nobody changes their own roles)")


def _is_self(request, target) -> bool:
    """Separation of duties: an administrator's own roles are changed by another administrator."""
    if request.user.pk != target.pk:
        return False
    messages.error(request, SELF_GRANT)
    return True


@policy("accounts.change_user")
@login_required
@require_POST
def role_grant(request, pk):
    target = _target(request, pk, "accounts.change_user")
    require_perm(request.user, "accounts.change_roleassignment")
    if _is_self(request, target):
        return redirect("manage:user", pk=target.pk)
    form = GrantForm(request.POST, admin=request.user)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return redirect("manage:user", pk=target.pk)
    role, area = form.cleaned_data["role"], form.cleaned_data["area"]
    with transaction.atomic():
        assignment = RoleAssignment.objects.filter(user=target, role=role, area=area).first()
        if assignment is None:
            RoleAssignment.objects.create(user=target, role=role, area=area, granted_by=request.user)
        elif not assignment.active:
            assignment.active = True
            assignment.granted_by = request.user
            assignment.save()
    messages.success(request, gettext("已授予 %(role)s @ %(area)s") % {"role": role, "area": area})
    return redirect("manage:user", pk=target.pk)


@policy("accounts.change_user")
@login_required
@require_POST
def role_revoke(request, pk):
    target = _target(request, pk, "accounts.change_user")
    if _is_self(request, target):
        return redirect("manage:user", pk=target.pk)
    paths = permissions.scope_paths(request.user, "accounts.change_roleassignment")
    if not paths:
        raise PermissionDenied(gettext("没有权限 (permission denied)"))
    try:
        assignment_pk = int(request.POST.get("assignment", ""))
    except ValueError:
        return redirect("manage:user", pk=target.pk)
    assignment = RoleAssignment.objects.filter(paths_q(paths), user=target, pk=assignment_pk).first()
    if assignment is None:
        raise Http404
    if assignment.active:
        assignment.active = False
        assignment.save()  # the audit signal records the revocation
    messages.success(
        request, gettext("已撤销 %(role)s @ %(area)s") % {"role": assignment.role, "area": assignment.area}
    )
    return redirect("manage:user", pk=target.pk)


@policy("accounts.change_user")
@login_required
@require_POST
def token_issue(request, pk):
    target = _target(request, pk, "accounts.change_user")
    form = TokenForm(request.POST)
    if form.is_valid():
        token, key = ApiToken.issue(target, form.cleaned_data["name"], form.cleaned_data["expires_at"])
        record(events.TOKEN_ISSUED, obj=target, detail={"token": token.prefix, "name": token.name})
        # Shown once, on the next page, then gone from the session.
        request.session["linli_new_token"] = key
        messages.success(request, gettext("已签发令牌，请立即复制保存，离开本页后无法再次查看"))
    else:  # each wrong field named ("用途: …", "过期时间: …")
        for name, errors in form.errors.items():
            messages.error(
                request, f"{form.fields[name].label if name in form.fields else ''}: {' '.join(errors)}"
            )
    return redirect("manage:user", pk=target.pk)


@policy("accounts.change_user")
@login_required
@require_POST
def token_revoke(request, pk):
    target = _target(request, pk, "accounts.change_user")
    token_pk = request.POST.get("token", "")
    token = ApiToken.objects.filter(user=target, pk=int(token_pk) if token_pk.isdigit() else 0).first()
    if token is None:
        messages.error(request, gettext("没有这个令牌"))
        return redirect("manage:user", pk=target.pk)
    if not token.revoked:
        token.revoked = True
        token.save(update_fields=["revoked"])
        record(events.TOKEN_REVOKED, obj=target, detail={"token": token.prefix, "name": token.name})
    messages.success(request, gettext("已吊销令牌"))
    return redirect("manage:user", pk=target.pk)
