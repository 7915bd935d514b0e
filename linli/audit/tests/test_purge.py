"""Retention: old rows leave only from the start of the chain, and verification still passes."""

import datetime as dt

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import CommandError, call_command
from django.utils import timezone

from linli.audit import events, record
from linli.audit.models import AuditEvent
from linli.audit.services import purge_all, retention_days, seal_all, verify_all
from linli.core import chain
from linli.core.models import ObjectChange
from linli.core.testing import make_person

from .conftest import bypass_guard

pytestmark = pytest.mark.django_db

NOW = timezone.now()
OLD = NOW - dt.timedelta(days=400)


def age(model, pks, when=OLD):
    with bypass_guard():
        model._base_manager.filter(pk__in=pks).update(time=when)


@pytest.fixture
def aged(area_tree):
    """Six audit events and the history of four people; the first three of each are 400 days old."""
    grid = area_tree["grids"][0]
    people = [make_person(grid, name=f"居民{i}") for i in range(6)]
    audit = [record(events.SENSITIVE_READ, obj=p, purpose="走访").pk for p in people]
    changes = list(ObjectChange.objects.order_by("id").values_list("pk", flat=True))
    age(AuditEvent, audit[:3])
    age(ObjectChange, changes[:3])
    return audit, changes


def test_retention_defaults_to_365_and_refuses_less_than_180(monkeypatch):
    monkeypatch.delenv("LINLI_AUDIT_RETENTION_DAYS", raising=False)
    assert retention_days() == 365
    monkeypatch.setenv("LINLI_AUDIT_RETENTION_DAYS", "200")
    assert retention_days() == 200
    monkeypatch.setenv("LINLI_AUDIT_RETENTION_DAYS", "179")
    with pytest.raises(ImproperlyConfigured, match="不得少于 180 天"):
        retention_days()
    monkeypatch.setenv("LINLI_AUDIT_RETENTION_DAYS", "半年")
    with pytest.raises(ImproperlyConfigured, match="整数"):
        retention_days()
    with pytest.raises(ImproperlyConfigured):
        retention_days(90)


def test_purge_command_refuses_a_short_retention(aged, monkeypatch):
    monkeypatch.setenv("LINLI_AUDIT_RETENTION_DAYS", "30")
    with pytest.raises(CommandError, match="180"):
        call_command("audit", "purge")
    with pytest.raises(CommandError, match="180"):
        call_command("audit", "purge", "--days", "100")
    assert AuditEvent.objects.filter(time=OLD).count() == 3


def test_purge_deletes_old_rows_from_the_start_and_verify_still_passes(aged):
    audit, changes = aged
    result = purge_all(365)
    assert result == {"audit.auditevent": 3, "core.objectchange": 3}
    assert not AuditEvent.objects.filter(pk__in=audit[:3]).exists()
    assert not ObjectChange.objects.filter(pk__in=changes[:3]).exists()
    for name in ("audit.auditevent", "core.objectchange"):
        head = chain.ChainHead.objects.get(chain=name)
        assert head.checkpoint_seq == 3 and head.checkpoint_hash
        purge_event = AuditEvent.objects.filter(event=events.AUDIT_PURGE, detail__chain=name).get()
        assert purge_event.detail["checkpoint_seq"] == 3 and purge_event.detail["rows"] == 3
    assert all(r.ok for r in verify_all())
    # Nothing more is old enough: a second run deletes nothing and records nothing new.
    assert purge_all(365) == {"audit.auditevent": 0, "core.objectchange": 0}
    assert AuditEvent.objects.filter(event=events.AUDIT_PURGE).count() == 2
    assert all(r.ok for r in verify_all())


def test_purge_stops_at_the_first_row_within_retention(aged):
    audit, _ = aged
    age(AuditEvent, audit[4:5])  # old, but after a recent row in chain order: kept for now
    purge_all(365)
    assert set(AuditEvent.objects.filter(time=OLD).values_list("pk", flat=True)) == {audit[4]}
    assert chain.ChainHead.objects.get(chain="audit.auditevent").checkpoint_seq == 3
    assert all(r.ok for r in verify_all())


def test_verify_detects_deletion_after_a_purge(aged):
    purge_all(365)
    first_left = AuditEvent.objects.exclude(seal_seq=None).order_by("seal_seq").first()
    with bypass_guard():
        AuditEvent.objects.filter(pk=first_left.pk)._raw_delete("default")
    problems = [p for r in verify_all() for p in r.problems]
    assert [(p.chain, p.seq, p.kind) for p in problems] == [("audit.auditevent", 4, "deleted")]


def test_moving_the_checkpoint_to_hide_a_deletion_is_detected(aged):
    purge_all(365)
    seal_all()
    victim = AuditEvent.objects.order_by("seal_seq").first()
    with bypass_guard():
        AuditEvent.objects.filter(pk=victim.pk)._raw_delete("default")
    chain.ChainHead.objects.filter(chain="audit.auditevent").update(
        checkpoint_seq=victim.seal_seq, checkpoint_hash=victim.hash
    )
    problems = [p for r in verify_all() for p in r.problems]
    assert [(p.chain, p.kind) for p in problems] == [("audit.auditevent", "head")]


def test_purge_refuses_a_broken_chain(aged):
    seal_all()
    with bypass_guard():
        AuditEvent.objects.filter(pk=aged[0][0]).update(purpose="改")
    with pytest.raises(chain.ChainBroken):
        purge_all(365)
    assert AuditEvent.objects.filter(time=OLD).count() == 3


def test_purge_command_reports_counts(aged, capsys):
    call_command("audit", "purge", "--days", "365")
    out = capsys.readouterr().out
    assert "audit.auditevent: 删除 3 条" in out and "core.objectchange: 删除 3 条" in out
    call_command("audit", "verify")
