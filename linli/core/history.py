"""Change history for single and bulk writes.

Models inherit :class:`ChangeLoggedModel`; its ``save()`` and ``delete()``, and its queryset's
``update()``, ``delete()``, plus :func:`bulk_create` / :func:`bulk_update` here all write
:class:`~linli.core.models.ObjectChange` rows in the same transaction. Nothing depends on signals,
so bulk paths are covered too (the gap NetBox's signal-based logging leaves).
"""

import base64
import contextvars
import datetime as dt
import decimal
import functools
import uuid
from collections.abc import Iterable, Sequence
from contextlib import contextmanager

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied
from django.db import connections, models, router, transaction
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from . import bulk, context
from .fields import EncryptedTextField, PathField
from .models import ChangeAction, ObjectChange
from .scope import ScopedQuerySet

CHANGE_BATCH = 2000


def _json_value(field: models.Field, value):
    if value is None:
        return None
    if isinstance(field, EncryptedTextField):
        if value == "":
            return ""
        from .crypto import keyring

        return "enc:" + base64.b64encode(keyring().encrypt(value, field.aad)).decode()
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, bytes | memoryview):
        return base64.b64encode(bytes(value)).decode()
    return value


@functools.cache
def tracked_fields(model) -> tuple[models.Field, ...]:
    # Cached per model: raw_state() runs for every row read (the baseline for the next save's diff).
    exclude = set(getattr(model, "history_exclude", ()))
    return tuple(f for f in model._meta.concrete_fields if f.name not in exclude and not f.primary_key)


@functools.cache
def _tracked_attnames(model) -> tuple[str, ...]:
    return tuple(f.attname for f in tracked_fields(model))


def raw_state(obj) -> dict:
    """The in-memory values of the tracked fields (plaintext), keyed by attname."""
    return {name: getattr(obj, name) for name in _tracked_attnames(type(obj))}


def serialise(obj, state: dict | None = None, only: Iterable[str] | None = None) -> dict:
    """JSON-safe snapshot; encrypted values become ciphertext."""
    state = raw_state(obj) if state is None else state
    fields = {f.attname: f for f in tracked_fields(type(obj))}
    keys = fields.keys() if only is None else only
    return {name: _json_value(fields[name], state[name]) for name in keys}


def diff(before: dict, after: dict) -> list[str]:
    return [name for name, value in after.items() if before.get(name) != value]


def _change(obj, action: str, pre: dict | None, post: dict | None, note: str, ct=None) -> ObjectChange:
    ctx = context.current()
    user = ctx.user
    return ObjectChange(
        user=user if getattr(user, "pk", None) else None,
        user_name=getattr(user, "username", "") or "",
        request_id=ctx.request_id,
        channel=ctx.channel,
        action=action,
        content_type=ct or ContentType.objects.get_for_model(type(obj)),
        object_id=obj.pk,
        object_repr=str(obj)[:200],
        area_path=getattr(obj, "area_path", "") or "",
        prechange=pre,
        postchange=post,
        note=note[:500],
    )


class HardDeleteForbidden(PermissionDenied):
    """Registry records are never hard-deleted by a normal user (SPEC §2)."""


_purge_allowed: contextvars.ContextVar[bool] = contextvars.ContextVar("linli_purge_allowed", default=False)


@contextmanager
def purge_allowed():
    """Permit hard deletion of permanent records inside this block (retention/erasure jobs only)."""
    token = _purge_allowed.set(True)
    try:
        yield
    finally:
        _purge_allowed.reset(token)


def check_deletable(model) -> None:
    if getattr(model, "permanent", False) and not _purge_allowed.get():
        raise HardDeleteForbidden(
            gettext(
                "%(verbose_name)s 不能删除，请使用迁出、死亡等变动登记 (records are never deleted; record a life event)"
            )
            % {"verbose_name": model._meta.verbose_name}
        )


class ChangeLoggedQuerySet(models.QuerySet):
    """Bulk updates and deletes that still leave one history row per object."""

    def update(self, **kwargs):
        with transaction.atomic(using=self.db):
            objs = list(self.select_for_update() if self.db_supports_locking() else self)
            if not objs:
                return 0
            befores = [o._history_baseline() for o in objs]
            rows = super().update(**kwargs)
            # Re-read so that expressions (F(), Case …) are logged with their results.
            fresh = {}
            base = self.model._base_manager.using(self.db)
            for start in range(0, len(objs), CHANGE_BATCH):
                chunk = [o.pk for o in objs[start : start + CHANGE_BATCH]]
                fresh.update((o.pk, o) for o in base.filter(pk__in=chunk))
            changes = []
            ct = ContentType.objects.get_for_model(self.model)
            for obj, before in zip(objs, befores, strict=True):
                new = fresh[obj.pk]
                after = raw_state(new)
                changed = diff(before, after)
                if changed:
                    changes.append(
                        _change(
                            new,
                            ChangeAction.UPDATE,
                            serialise(obj, before),
                            serialise(new, after, changed),
                            "",
                            ct,
                        )
                    )
            ObjectChange.objects.using(self.db).bulk_create(changes, batch_size=CHANGE_BATCH)
            return rows

    update.alters_data = True

    def delete(self):
        check_deletable(self.model)
        with transaction.atomic(using=self.db):
            objs = list(self)
            ct = ContentType.objects.get_for_model(self.model)
            changes = [_change(o, ChangeAction.DELETE, serialise(o), None, "", ct) for o in objs]
            result = super().delete()
            ObjectChange.objects.using(self.db).bulk_create(changes, batch_size=CHANGE_BATCH)
            return result

    delete.alters_data = True

    def db_supports_locking(self) -> bool:
        from django.db import connections

        return connections[self.db].features.has_select_for_update


class ChangeLoggedModel(models.Model):
    """Abstract base: every save and delete leaves an :class:`ObjectChange`."""

    history_exclude: Sequence[str] = ()
    #: Permanent records (persons, households …) refuse deletion outside :func:`purge_allowed`.
    permanent: bool = False

    objects = ChangeLoggedQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args, change_note: str = "", **kwargs):
        adding = self._state.adding or self.pk is None
        before = None if adding else self._history_baseline()
        with transaction.atomic(using=kwargs.get("using")):
            super().save(*args, **kwargs)
            after = raw_state(self)
            if adding:
                _change(self, ChangeAction.CREATE, None, None, change_note).save()
            else:
                changed = diff(before, after)
                if changed:
                    _change(
                        self,
                        ChangeAction.UPDATE,
                        serialise(self, before),
                        serialise(self, after, changed),
                        change_note,
                    ).save()
            self._loaded_state = after

    def delete(self, *args, change_note: str = "", **kwargs):
        check_deletable(type(self))
        with transaction.atomic(using=kwargs.get("using")):
            pk = self.pk
            pre = serialise(self, self._history_baseline())
            result = super().delete(*args, **kwargs)
            self.pk = pk
            _change(self, ChangeAction.DELETE, pre, None, change_note).save()
            self.pk = None
            return result

    @classmethod
    def from_db(cls, db, field_names, values):
        instance = super().from_db(db, field_names, values)
        instance._loaded_state = (
            raw_state(instance) if len(field_names) == len(cls._meta.concrete_fields) else None
        )
        return instance

    def refresh_from_db(self, *args, **kwargs):
        super().refresh_from_db(*args, **kwargs)
        # A full refresh is the new baseline; after a partial one, re-read it when next needed.
        partial = kwargs.get("fields") or (args[1] if len(args) > 1 else None)
        self._loaded_state = None if partial else raw_state(self)

    def _history_baseline(self) -> dict:
        """The state as last read from or written to the database."""
        loaded = getattr(self, "_loaded_state", None)
        if loaded is None and self.pk is not None:
            fresh = type(self)._base_manager.get(pk=self.pk)
            loaded = raw_state(fresh)
        return loaded or {}


def bulk_create(model, objs: list, *, batch_size: int = 1000, note: str = "") -> list:
    """``bulk_create`` plus one creation record per object, in one transaction (``COPY`` on PostgreSQL)."""
    with transaction.atomic():
        created = bulk.insert(model, objs, batch_size=batch_size)
        if created and created[0].pk is None:
            raise RuntimeError("this database did not return primary keys from bulk_create")
        bulk.insert_values(ObjectChange, _creation_rows(model, created, note), batch_size=CHANGE_BATCH)
        for obj in created:
            obj._loaded_state = raw_state(obj)
        return created


def bulk_create_values(model, rows: list[dict], reprs: list[str], *, note: str = "") -> list:
    """Insert rows given as column values (no model instances) with their creation records; their keys.

    For bulk loads of small link rows (memberships): ``reprs`` are what ``str()`` of each object
    would print, for the history.
    """
    connection = connections[router.db_for_write(model)]
    with transaction.atomic(using=connection.alias):
        keys = bulk.draw_keys(model, len(rows))
        for load in value_creation_loads(model, rows, keys, reprs, connection=connection, note=note):
            bulk.send(load, connection=connection)
        return keys


def creation_loads(model, objs: list, keys: list[int], *, connection, note: str = "") -> list[bulk.Load]:
    """What :func:`bulk_create` writes, for instances under keys drawn with ``bulk.draw_keys``, as
    loads: built without a query, for a writer that builds one batch while it sends another."""
    # No history baseline is kept on the instances (bulk_create keeps one): a bulk writer drops
    # them after sending; one saved later reads its baseline from the database.
    return [
        bulk.object_load(model, objs, keys, connection=connection),
        bulk.values_load(ObjectChange, _creation_rows(model, objs, note), connection=connection),
    ]


def value_creation_loads(model, rows: list[dict], keys: list[int], reprs: list[str], *, connection,
                         note: str = "") -> list[bulk.Load]:  # fmt: skip
    """What :func:`bulk_create_values` writes, under drawn keys, as loads (see :func:`creation_loads`)."""
    return [
        bulk.values_load(model, rows, keys, connection=connection),
        bulk.values_load(
            ObjectChange, _creation_rows(model, _stubs(keys, reprs, rows), note), connection=connection
        ),
    ]


def _stubs(keys: list[int], reprs: list[str], rows: list[dict]) -> list["_Stub"]:
    return [_Stub(k, text, row.get("area_path", "")) for k, text, row in zip(keys, reprs, rows, strict=True)]


class _Stub:
    """Just enough of an object for its creation record."""

    __slots__ = ("area_path", "pk", "text")

    def __init__(self, pk, text: str, area_path: str):
        self.pk, self.text, self.area_path = pk, text, area_path

    def __str__(self) -> str:
        return self.text


def _creation_rows(model, objs: list, note: str) -> list[dict]:
    """The creation records of ``objs`` as column values: what :func:`_change` would build, without
    an instance per row (a bulk load writes as many history rows as records)."""
    ctx = context.current()
    user = ctx.user
    common = {
        "time": timezone.now(),
        "user_id": user.pk if getattr(user, "pk", None) else None,
        "user_name": getattr(user, "username", "") or "",
        "request_id": ctx.request_id,
        "channel": ctx.channel,
        "action": ChangeAction.CREATE,
        "content_type_id": ContentType.objects.get_for_model(model).pk,
        "prechange": None,
        "postchange": None,
        "note": note[:500],
    }
    return [
        {
            **common,
            "object_id": o.pk,
            "object_repr": str(o)[:200],
            "area_path": getattr(o, "area_path", "") or "",
        }
        for o in objs
    ]


def bulk_update(objs: list, fields: list[str], *, batch_size: int = 1000, note: str = "") -> int:
    """``bulk_update`` of loaded objects plus one update record per object that really changed."""
    if not objs:
        return 0
    model = type(objs[0])
    attnames = {model._meta.get_field(f).attname for f in fields}
    with transaction.atomic():
        ct = ContentType.objects.get_for_model(model)
        changes = []
        for obj in objs:
            before = obj._history_baseline()
            after = raw_state(obj)
            changed = [name for name in diff(before, after) if name in attnames]
            if changed:
                changes.append(
                    _change(
                        obj,
                        ChangeAction.UPDATE,
                        serialise(obj, before),
                        serialise(obj, after, changed),
                        note,
                        ct,
                    )
                )
            obj._loaded_state = after
        # Written by primary key outside the queryset: the changes are logged here, from the loaded
        # baselines, not again by ChangeLoggedQuerySet.update().
        rows = bulk.update(model, objs, fields, batch_size=batch_size)
        bulk.insert(ObjectChange, changes, batch_size=CHANGE_BATCH)
        return rows


def history_of(obj):
    ct = ContentType.objects.get_for_model(type(obj))
    return ObjectChange.objects.filter(content_type=ct, object_id=obj.pk)


def state_at(obj, when: dt.datetime) -> dict | None:
    """The object's serialised state at ``when``, or ``None`` if it did not exist yet.

    Encrypted fields stay as ciphertext; revealing them is a separate, audited step.
    """
    changes = history_of(obj)
    created = changes.filter(action=ChangeAction.CREATE).order_by("time", "id").first()
    if created is not None and created.time > when:
        return None
    later = changes.filter(time__gt=when).exclude(action=ChangeAction.CREATE).order_by("time", "id").first()
    if later is not None and later.prechange is not None:
        return later.prechange
    current = type(obj)._base_manager.filter(pk=obj.pk).first()
    return serialise(current) if current is not None else None


class ScopedRecordQuerySet(ScopedQuerySet, ChangeLoggedQuerySet):
    """Queryset of :class:`ScopedRecord`: scope filters plus logged bulk writes."""


class ScopedRecord(ChangeLoggedModel):
    """Abstract base of most domain rows: belongs to an area, and every change is logged.

    Kept here (rather than as a mixin users must combine correctly) so that the manager is
    always the one that both scopes and logs.
    """

    area = models.ForeignKey(
        "areas.Area", on_delete=models.PROTECT, related_name="+", verbose_name=_("所属区域")
    )
    area_path = PathField(db_index=True, editable=False)

    objects = ScopedRecordQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        self.sync_area_path()
        super().save(*args, **kwargs)

    def sync_area_path(self) -> None:
        if self.area_id is not None:
            self.area_path = self.area.path


def log_change(obj, action: str, pre: dict | None, post: dict | None, note: str = "") -> ObjectChange:
    """Write one history row for a change made outside ``save()`` (e.g. a compare-and-swap update).

    ``pre`` must be the full serialised state before (see :func:`serialise`), ``post`` the changed fields.
    """
    change = _change(obj, action, pre, post, note)
    change.save()
    return change


def log_action(obj, action: str, note: str = "", post: dict | None = None) -> ObjectChange:
    """Record a semantic action (e.g. a merge) on an object beside its field changes."""
    change = _change(obj, action, None, post, note)
    change.save()
    return change
