"""Events recorded from signals: logins and logouts (Django's auth signals), lockouts (django-axes,
when installed), role assignments granted or revoked, and accounts disabled or enabled.

Connected in :meth:`linli.audit.apps.AuditConfig.ready`. Callers must not record these events
themselves, or they appear twice. A ``QuerySet.update()`` of assignments or users sends no signal;
it still leaves an :class:`~linli.core.models.ObjectChange` per row, which auditors see too.
"""

from django.contrib.auth import get_user_model
from django.db.models.signals import post_delete, post_save, pre_save

from . import events
from .services import common_path, write_event

MAX_USERNAME = 150


def logged_in(sender, request, user, **kwargs):
    write_event(events.LOGIN_OK, user=user, request=request)


def logged_out(sender, request, user, **kwargs):
    if user is not None and getattr(user, "is_authenticated", False):
        write_event(events.LOGOUT, user=user, request=request)


def login_failed(sender, credentials, request=None, **kwargs):
    user_model = get_user_model()
    attempted = str(credentials.get(user_model.USERNAME_FIELD) or credentials.get("username") or "")
    attempted = attempted[:MAX_USERNAME]
    write_event(
        events.LOGIN_FAILED,
        user=None,
        request=request,
        username=attempted,
        detail={"username": attempted},
        outcome="failed",
    )


def locked_out(sender, request=None, username=None, ip_address=None, **kwargs):
    attempted = str(username or "")[:MAX_USERNAME]
    write_event(
        events.LOCKOUT,
        user=None,
        request=request,
        username=attempted,
        detail={"username": attempted},
        outcome="denied",
    )


def _remember_active(sender, instance, update_fields=None, **kwargs):
    """Note the stored ``active``/``is_active`` flag before a save, to see whether it flips."""
    flag = "is_active" if sender is get_user_model() else "active"
    if instance.pk is None or (update_fields is not None and flag not in update_fields):
        instance._audit_was_active = None
        return
    instance._audit_was_active = (
        sender._base_manager.using(kwargs.get("using"))
        .filter(pk=instance.pk)
        .values_list(flag, flat=True)
        .first()
    )


def _assignment_detail(assignment) -> dict:
    return {
        "assignee": assignment.user.username,
        "role": assignment.role.key,
        "role_name": assignment.role.name,
        "area": str(assignment.area),
        "area_path": assignment.area_path,
    }


def assignment_saved(sender, instance, created, **kwargs):
    was = getattr(instance, "_audit_was_active", None)
    if created:
        event = events.ROLE_GRANTED if instance.active else None
    elif was is None or was == instance.active:
        event = None
    else:
        event = events.ROLE_GRANTED if instance.active else events.ROLE_REVOKED
    if event:
        write_event(event, obj=instance, area_path=instance.area_path, detail=_assignment_detail(instance))


def assignment_deleted(sender, instance, **kwargs):
    if instance.active:
        write_event(
            events.ROLE_REVOKED,
            obj=instance,
            area_path=instance.area_path,
            detail={**_assignment_detail(instance), "deleted": True},
        )


def user_saved(sender, instance, created, **kwargs):
    was = getattr(instance, "_audit_was_active", None)
    if created or was is None or was == instance.is_active:
        return
    event = events.USER_ENABLED if instance.is_active else events.USER_DISABLED
    # From the assignments themselves: a disabled user's grants are empty by design.
    area = common_path(instance.assignments.filter(active=True).values_list("area_path", flat=True))
    write_event(event, obj=instance, area_path=area, detail={"target": instance.username})


def connect() -> None:
    from django.apps import apps
    from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed

    from linli.accounts.models import RoleAssignment

    user_logged_in.connect(logged_in, dispatch_uid="linli.audit.login")
    user_logged_out.connect(logged_out, dispatch_uid="linli.audit.logout")
    user_login_failed.connect(login_failed, dispatch_uid="linli.audit.login_failed")
    user_model = get_user_model()
    for model in (RoleAssignment, user_model):
        pre_save.connect(
            _remember_active, sender=model, dispatch_uid=f"linli.audit.active.{model._meta.label}"
        )
    post_save.connect(assignment_saved, sender=RoleAssignment, dispatch_uid="linli.audit.assignment_saved")
    post_delete.connect(
        assignment_deleted, sender=RoleAssignment, dispatch_uid="linli.audit.assignment_deleted"
    )
    post_save.connect(user_saved, sender=user_model, dispatch_uid="linli.audit.user_saved")
    if apps.is_installed("axes"):
        from axes.signals import user_locked_out

        user_locked_out.connect(locked_out, dispatch_uid="linli.audit.lockout")
