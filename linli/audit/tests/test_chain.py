"""Sealing and verification of both chains, and the tampering verification must catch."""

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from linli.audit import events, record
from linli.audit.models import AuditEvent
from linli.audit.services import seal_all, verify_all
from linli.core import chain, context
from linli.core.models import ObjectChange
from linli.core.testing import make_person

from .conftest import bypass_guard

pytestmark = pytest.mark.django_db

CHAINS = [AuditEvent, ObjectChange]


@pytest.fixture
def filled(area_tree):
    """Unsealed rows in both chains: registry changes and audit events."""
    grid = area_tree["grids"][0]
    for i in range(4):
        person = make_person(grid, name=f"居民{i}")
        person.occupation = "教师"
        person.save()
        record(events.REVEAL, obj=person, purpose="核实")
    return area_tree


def kinds(model) -> list[tuple[int | None, str]]:
    return [(p.seq, p.kind) for p in chain.verify(model).problems]


def sealed(model):
    return list(model._base_manager.exclude(seal_seq=None).order_by("seal_seq"))


def test_rows_are_inserted_unsealed_and_sealing_links_them(filled):
    assert not AuditEvent.objects.exclude(seal_seq=None).exists()
    counts = seal_all()
    assert counts["audit.auditevent"] == 4 and counts["core.objectchange"] > 4
    for model in CHAINS:
        rows = sealed(model)
        assert [r.seal_seq for r in rows] == list(range(1, len(rows) + 1))
        assert rows[0].prev_hash == chain.genesis(chain.chain_name(model))
        for before, after in zip(rows, rows[1:], strict=False):
            assert after.prev_hash == before.hash
        head = chain.ChainHead.objects.get(chain=chain.chain_name(model))
        assert (head.seq, head.hash) == (rows[-1].seal_seq, rows[-1].hash)
        report = chain.verify(model)
        assert report.ok and report.checked == len(rows) and report.unsealed == 0
    assert seal_all() == {"audit.auditevent": 0, "core.objectchange": 0}


def test_sealing_in_several_runs_and_small_batches_gives_one_chain(filled):
    chain.seal(ObjectChange, batch=3)
    make_person(filled["grids"][1], name="后来者")
    chain.seal(ObjectChange, batch=2)
    rows = sealed(ObjectChange)
    assert [r.seal_seq for r in rows] == list(range(1, len(rows) + 1))
    assert chain.verify(ObjectChange).ok


def test_a_late_committing_row_with_a_smaller_id_is_sealed_later(filled):
    seal_all()
    top = AuditEvent.objects.order_by("-id").first().pk
    AuditEvent(pk=top + 1000, event=events.EXPORT).save()
    chain.seal(AuditEvent)
    AuditEvent(pk=top + 500, event=events.IMPORT).save()  # committed after the row above was sealed
    chain.seal(AuditEvent)
    late, early = AuditEvent.objects.get(pk=top + 500), AuditEvent.objects.get(pk=top + 1000)
    assert late.seal_seq == early.seal_seq + 1 and late.prev_hash == early.hash
    assert chain.verify(AuditEvent).ok


def test_a_row_committing_below_the_mark_during_one_sealing_run_is_sealed_by_that_run(filled, monkeypatch):
    # Batches resume after the last sealed id (keyset); a row that becomes visible below that mark
    # while the run is going must still be sealed before the run ends.
    seal_all()
    top = ObjectChange.objects.order_by("-id").first().pk
    ObjectChange.objects.bulk_create([ObjectChange(pk=top + 100 + n, **_change_fields()) for n in range(5)])
    real_update, injected = chain.bulk.update, []

    def update_then_commit_a_late_row(*args, **kwargs):
        result = real_update(*args, **kwargs)
        if not injected:
            injected.append(ObjectChange.objects.create(pk=top + 1, **_change_fields()))
        return result

    monkeypatch.setattr(chain.bulk, "update", update_then_commit_a_late_row)
    assert chain.seal(ObjectChange, batch=2) == 6
    assert not ObjectChange.objects.filter(seal_seq=None).exists()
    assert (
        ObjectChange.objects.get(pk=top + 1).seal_seq == ObjectChange.objects.get(pk=top + 104).seal_seq + 1
    )
    assert chain.verify(ObjectChange).ok


def _change_fields():
    from django.contrib.contenttypes.models import ContentType
    from django.utils import timezone

    from linli.registry.models import Person

    return {"time": timezone.now(), "action": "update", "object_id": 1, "object_repr": "x", "area_path": "",
            "content_type": ContentType.objects.get_for_model(Person), "channel": "web", "user_name": "t"}  # fmt: skip


@pytest.mark.parametrize("model", CHAINS, ids=["audit", "changes"])
def test_verify_detects_a_modified_row(filled, model):
    seal_all()
    victim = sealed(model)[2]
    field = "purpose" if model is AuditEvent else "note"
    with bypass_guard():
        model._base_manager.filter(pk=victim.pk).update(**{field: "改过了"})
    assert kinds(model) == [(3, "modified")]


@pytest.mark.parametrize("model", CHAINS, ids=["audit", "changes"])
def test_verify_detects_a_modified_row_even_with_its_hash_recomputed(filled, model):
    seal_all()
    victim = sealed(model)[1]
    victim.object_repr = "伪造"
    with bypass_guard():
        model._base_manager.filter(pk=victim.pk).update(
            object_repr="伪造", hash=chain.row_hash(victim, victim.prev_hash)
        )
    assert kinds(model) == [(3, "deleted")]  # the next row no longer links to it


@pytest.mark.parametrize("model", CHAINS, ids=["audit", "changes"])
def test_verify_detects_a_deleted_row_by_raw_sql(filled, model):
    seal_all()
    victim = sealed(model)[1]
    with bypass_guard(), connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {model._meta.db_table} WHERE id = %s", [victim.pk])  # noqa: S608 (table name from the model)
    assert kinds(model) == [(2, "deleted")]


@pytest.mark.parametrize("model", CHAINS, ids=["audit", "changes"])
def test_verify_detects_deleted_rows_at_the_end(filled, model):
    seal_all()
    rows = sealed(model)
    with bypass_guard():
        model._base_manager.filter(pk__in=[r.pk for r in rows[-2:]])._raw_delete(connection.alias)
    assert kinds(model) == [(len(rows) - 1, "deleted")]


@pytest.mark.parametrize("model", CHAINS, ids=["audit", "changes"])
def test_verify_detects_a_forged_row_appended_after_the_head(filled, model):
    seal_all()
    template = sealed(model)[-1]
    head = chain.ChainHead.objects.get(chain=chain.chain_name(model))
    forged = model._base_manager.get(pk=template.pk)
    forged.pk = model._base_manager.order_by("-pk").first().pk + 100
    forged.seal_seq, forged.prev_hash = head.seq + 1, head.hash
    forged.hash = chain.row_hash(forged, forged.prev_hash)  # a perfectly well-formed link
    with bypass_guard():
        model._base_manager.bulk_create([forged])
    assert kinds(model) == [(head.seq + 1, "forged")]


@pytest.mark.parametrize("model", CHAINS, ids=["audit", "changes"])
def test_verify_detects_a_row_replaced_by_a_forgery(filled, model):
    seal_all()
    victim = sealed(model)[2]
    forged = model._base_manager.get(pk=victim.pk)  # same id, same seq, same prev link: only content differs
    forged.object_repr = "伪造的记录"
    forged.hash = chain.row_hash(forged, forged.prev_hash)
    with bypass_guard():
        model._base_manager.filter(pk=victim.pk)._raw_delete(connection.alias)
        model._base_manager.bulk_create([forged])
    assert kinds(model) == [(4, "deleted")]


def test_verify_detects_a_tampered_head(filled):
    seal_all()
    chain.ChainHead.objects.filter(chain="audit.auditevent").update(hash="0" * 64)
    assert kinds(AuditEvent) == [(None, "head")]


def test_verify_command_passes_and_seals_first(filled, capsys):
    call_command("audit", "verify")
    out = capsys.readouterr().out
    assert "audit.auditevent: 校验 4 条" in out and "审计链完整" in out
    assert not AuditEvent.objects.filter(seal_seq=None).exists()
    assert not ObjectChange.objects.filter(seal_seq=None).exists()


def test_verify_command_fails_naming_chain_and_seq(filled, capsys):
    seal_all()
    victim = sealed(ObjectChange)[0]
    with bypass_guard():
        ObjectChange.objects.filter(pk=victim.pk).update(note="x")
    with pytest.raises(CommandError, match="校验失败"):
        call_command("audit", "verify")
    err = capsys.readouterr().err
    assert "[core.objectchange] 第 1 条 / seq 1" in err and "modified" in err
    failure = AuditEvent.objects.get(event=events.AUDIT_VERIFY_FAILED)
    assert failure.outcome == "failed"
    assert failure.detail["problems"] == [{"chain": "core.objectchange", "seq": 1, "kind": "modified"}]


def test_a_user_fk_set_to_null_keeps_the_chain_valid(filled):
    from .conftest import make_user

    user = make_user("leaver")
    record(events.LOGIN_OK, user=user)
    with context.acting(user):
        make_person(filled["grids"][0], name="由离职者登记")
    seal_all()
    # What on_delete=SET_NULL does when the user is deleted (allowed by the PostgreSQL guard too).
    AuditEvent.objects.filter(user=user).update(user=None)
    ObjectChange.objects.filter(user=user).update(user=None)
    event = AuditEvent.objects.get(event=events.LOGIN_OK)
    assert event.user is None and event.username == "leaver"
    assert all(r.ok for r in verify_all())


def test_a_lost_head_is_reported_and_a_flood_of_findings_is_cut_short(filled, monkeypatch):
    seal_all()
    chain.ChainHead.objects.filter(chain="audit.auditevent").delete()
    assert [kind for _, kind in kinds(AuditEvent)] == ["forged"] * 4
    monkeypatch.setattr(chain, "MAX_PROBLEMS", 2)
    assert kinds(AuditEvent) == [(1, "forged"), (2, "forged"), (2, "stopped")]
