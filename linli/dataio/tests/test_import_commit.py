"""Commit semantics: upsert by ID with history, households and houses, and all-or-nothing."""

import datetime as dt
import threading

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection, connections

from linli.audit.models import AuditEvent
from linli.core.context import Channel
from linli.core.history import history_of
from linli.core.models import ChangeAction, ObjectChange
from linli.core.testing import make_person
from linli.core.validators import parse_id_number
from linli.dataio import jobs
from linli.dataio.persons import PersonHouseholdSpec
from linli.registry import services
from linli.registry.models import Household, Membership, Person

from .builders import csv_bytes, errors_of, family, new_id, row, run_import, upload, xlsx_bytes

pytestmark = pytest.mark.django_db


def test_upsert_updates_an_existing_person_and_records_history(staff, area_tree):
    grid = area_tree["grids"][0]
    existing = make_person(grid, name="李老师", phone="13911112222")
    household = services.create_household(number="4201050010001", head=existing)
    rows = [
        row("4201050010001", "户主", "李老师", existing.id_number, phone="13933334444", education="本科"),
        row("4201050010001", "配偶", "王阿姨", new_id(dt.date(1982, 3, 3), "2")),
    ]
    job = run_import(staff, "update.csv", csv_bytes(rows))
    assert job.status == "done", errors_of(job)
    assert (job.created_count, job.updated_count, job.unchanged_count) == (1, 1, 0)
    assert job.counts["households_created"] == 0 and job.counts["memberships_created"] == 1
    existing.refresh_from_db()
    assert existing.phone == "13933334444" and existing.education == "21" and existing.version == 2
    assert existing.phone_masked == "139****4444"
    assert Person.objects.with_phone("13933334444").get() == existing
    change = history_of(existing).filter(action=ChangeAction.UPDATE).get()
    assert change.channel == Channel.IMPORT and change.user == staff
    assert set(change.postchange) == {"phone", "education"}
    assert change.postchange["phone"].startswith("enc:")  # history never holds plaintext numbers
    spouse = Person.objects.get(name="王阿姨")
    assert spouse.area == grid and spouse.current_membership.household == household
    assert history_of(spouse).get().channel == Channel.IMPORT

    again = run_import(staff, "again.csv", csv_bytes(rows))
    assert (again.created_count, again.updated_count, again.unchanged_count) == (0, 0, 2)


def test_commit_is_recorded_in_the_audit_trail(staff):
    job = run_import(staff, "台账.csv", csv_bytes(family("4201050010001")))
    event = AuditEvent.objects.get(event="data.import", outcome="ok")
    assert event.user == staff and event.detail["file"] == "台账.csv"
    assert event.detail["counts"]["persons_created"] == 3 and event.object_id == str(job.pk)


def test_houses_and_grids_are_resolved(staff, area_tree):
    grid2 = area_tree["grids"][1]
    rows = family("4201050010001", grid="", house="2-1-201") + family(
        "4201050010002", grid="第1-1社区 1号网格"
    )
    rows[1]["house"] = "测试路11号 2栋 1单元 202室"
    job = run_import(staff, "houses.csv", csv_bytes(rows))
    assert job.status == "done", errors_of(job)
    household = Household.objects.get(number="4201050010001")
    assert household.area == grid2 and household.house.room_key == "2-1-201"
    head = household.head
    assert head.house == household.house and head.area == grid2
    member = Person.objects.get(name=rows[1]["name"])
    assert member.house.room_key == "2-1-202" and member.area == grid2
    assert Household.objects.get(number="4201050010002").area == area_tree["grids"][0]


def test_the_chosen_area_narrows_the_scope(staff, area_tree):
    grid1 = area_tree["grids"][0]
    job = run_import(staff, "a.csv", csv_bytes(family("4201050010001", grid="2号网格")), area=grid1)
    assert job.status == "failed"
    assert errors_of(job)[0][1] == "所属网格"


def test_existing_household_gets_new_members_without_a_head_row(staff, area_tree):
    head = make_person(area_tree["grids"][0], name="老户主")
    household = services.create_household(number="4201050010001", head=head)
    rows = [row("4201050010001", "子", "新成员", new_id(dt.date(2010, 1, 1)))]
    job = run_import(staff, "a.csv", csv_bytes(rows))
    assert job.status == "done", errors_of(job)
    assert household.current_members().count() == 2
    assert Person.objects.get(name="新成员").area == household.area


def test_import_never_changes_a_head_or_moves_a_person(staff, area_tree):
    head = make_person(area_tree["grids"][0], name="老户主")
    services.create_household(number="4201050010001", head=head)
    other_head = make_person(area_tree["grids"][0], name="别户户主")
    services.create_household(number="4201050010002", head=other_head)
    rows = [
        row("4201050010001", "户主", "新户主", new_id()),
        row("4201050010001", "配偶", "老户主", head.id_number),
        row("4201050010003", "户主", "别户户主", other_head.id_number, grid="1号网格"),
    ]
    job = run_import(staff, "a.csv", csv_bytes(rows))
    reasons = {(e[0], e[1]): e[2] for e in errors_of(job)}
    assert "已有户主" in reasons[(2, "与户主关系")]
    assert "变更户主" in reasons[(3, "与户主关系")]
    assert "迁移" in reasons[(4, "户号")]


def test_relation_update_for_a_current_member(staff, area_tree):
    head = make_person(area_tree["grids"][0], name="户主甲")
    household = services.create_household(number="4201050010001", head=head)
    child = make_person(area_tree["grids"][0], name="孩子", birth=dt.date(2005, 1, 1))
    Membership.objects.create(household=household, person=child, relation="20")
    rows = [row("4201050010001", "长子", "孩子", child.id_number)]
    job = run_import(staff, "a.csv", csv_bytes(rows))
    assert job.status == "done" and job.counts["memberships_updated"] == 1
    assert child.current_membership.relation == "22"


def test_names_and_codes_in_many_spellings(staff):
    rows = family("4201050010001")
    rows[0].update(ethnicity="01", political_status="党员", education="大专", marital_status="已婚", population_type="1",
                   residence_status="人户一致", sex="男", birth_date="")  # fmt: skip
    rows[1].update(
        ethnicity="回", political_status="13", education="61", marital_status="20", population_type="流动人口"
    )
    rows[2].update(ethnicity="Han", relation="20")
    job = run_import(staff, "a.csv", csv_bytes(rows))
    assert job.status == "done", errors_of(job)
    head = Person.objects.get(name=rows[0]["name"])
    assert (head.political_status, head.education, head.marital_status) == ("01", "31", "20")
    spouse = Person.objects.get(name=rows[1]["name"])
    assert (spouse.ethnicity, spouse.population_type) == ("03", "2")


def test_xlsx_with_a_title_row_and_real_dates(staff):
    rows = family("4201050010001")
    rows[0]["birth_date"] = parse_id_number(rows[0]["id_number"]).birth_date
    job = run_import(staff, "a.xlsx", xlsx_bytes(rows, title="某某社区人口台账（2026年）"))
    assert job.status == "done", (job.message, errors_of(job))


def test_example_row_of_the_template_is_skipped(staff):
    rows = [row("示例0001", "户主", "张三", "420105198005170016")] + family("4201050010001")
    job = run_import(staff, "a.csv", csv_bytes(rows))
    assert job.status == "done" and job.rows_total == 3


def test_a_failure_in_the_middle_of_a_large_import_leaves_nothing(staff, snapshot, monkeypatch):
    rows = []
    for n in range(1250):
        rows += family(f"42010500{n:05d}", grid="1号网格" if n % 2 else "2号网格", size=4)
    assert len(rows) == 5000
    before = snapshot()
    original = PersonHouseholdSpec.send
    written = []

    def send(self, state, batch):
        original(self, state, batch)
        written.extend(p.row for p in batch.plans)
        if max(p.row for p in batch.plans) >= 4000:
            raise RuntimeError("disk full (injected)")

    monkeypatch.setattr(PersonHouseholdSpec, "send", send)
    job = run_import(staff, "big.csv", csv_bytes(rows))
    assert 4000 <= len(written) < 5000  # the failure came after thousands of rows were written …
    assert job.status == "failed" and "撤销" in job.message
    assert snapshot() == before  # … and none of them is left
    assert AuditEvent.objects.get(event="data.import").outcome == "failed"


def test_rows_are_built_in_a_worker_thread_beside_the_write(staff, monkeypatch):
    rows = []
    for n in range(1000):
        rows += family(f"42010500{n:05d}", size=3)  # 3,000 rows: two chunks
    original_build, original_send = PersonHouseholdSpec.build, PersonHouseholdSpec.send
    threads = {"build": set(), "send": set()}
    send_connections = set()

    def build(self, state, plans, keys):
        threads["build"].add(threading.get_ident())
        return original_build(self, state, plans, keys)

    def send(self, state, batch):
        threads["send"].add(threading.get_ident())
        send_connections.add(id(connections["default"]))
        return original_send(self, state, batch)

    monkeypatch.setattr(PersonHouseholdSpec, "build", build)
    monkeypatch.setattr(PersonHouseholdSpec, "send", send)
    job = run_import(staff, "big.csv", csv_bytes(rows))
    assert job.status == "done", (job.message, errors_of(job))
    here = threading.get_ident()
    assert threads["build"] and here not in threads["build"]
    assert threads["send"] == {here}  # the transaction's thread …
    assert send_connections == {id(connections["default"])}  # … and its connection
    assert Person.objects.count() == 3000 and Membership.objects.filter(end_date=None).count() == 3000
    # Keys were drawn ahead of the rows: every person's history line names the right record.
    person_type = ContentType.objects.get_for_model(Person)
    changes = ObjectChange.objects.filter(content_type=person_type, action="create")
    assert {(c.object_id, c.object_repr) for c in changes} == {(p.pk, p.name) for p in Person.objects.all()}


def test_a_database_error_while_sending_leaves_nothing(staff, snapshot, monkeypatch):
    rows = []
    for n in range(2000):
        rows += family(f"42010500{n:05d}", size=4)
    before = snapshot()
    original = PersonHouseholdSpec.send

    def send(self, state, batch):
        if max(p.row for p in batch.plans) > 4000:
            with connection.cursor() as cursor:
                cursor.execute("SELECT * FROM no_such_table")  # refused: PostgreSQL aborts the transaction
        return original(self, state, batch)

    monkeypatch.setattr(PersonHouseholdSpec, "send", send)
    job = run_import(staff, "big.csv", csv_bytes(rows))
    assert job.status == "failed" and "撤销" in job.message
    assert ("ProgrammingError" if connection.vendor == "postgresql" else "OperationalError") in job.message
    assert snapshot() == before


@pytest.mark.parametrize("failure", ["query", "error"])
def test_a_failing_build_leaves_nothing(staff, snapshot, monkeypatch, failure):
    rows = []
    for n in range(1000):
        rows += family(f"42010500{n:05d}", size=3)
    before = snapshot()
    original = PersonHouseholdSpec.build
    refused = []

    def build(self, state, plans, keys):
        if max(p.row for p in plans) > 2500:
            if failure == "query":
                try:
                    Person.objects.exists()  # it would run outside the import's transaction
                except RuntimeError as exc:
                    refused.append(str(exc))
                    raise
            raise RuntimeError("out of memory (injected)")
        return original(self, state, plans, keys)

    monkeypatch.setattr(PersonHouseholdSpec, "build", build)
    job = run_import(staff, "big.csv", csv_bytes(rows))
    assert job.status == "failed" and "撤销" in job.message
    assert snapshot() == before
    if failure == "query":
        assert refused and "a query while building import rows" in refused[0]


def test_registry_change_between_check_and_write_aborts(staff, snapshot, monkeypatch, area_tree):
    rows = family("4201050010001")
    job = jobs.create_job(user=staff, upload=upload("a.csv", csv_bytes(rows)), kind="persons")
    job = jobs.validate(job.pk)
    assert job.status == "validated"
    info = parse_id_number(rows[1]["id_number"])
    # Meanwhile someone registers that person elsewhere.
    make_person(
        area_tree["grids"][6], name="抢先", id_number=info.number, birth=info.birth_date, sex=info.sex
    )
    before = snapshot()
    assert jobs.request_commit(job)
    job = jobs.commit(job.pk)
    assert job.status == "failed"
    assert snapshot() == before


def test_commit_runs_once(staff):
    job = run_import(staff, "a.csv", csv_bytes(family("4201050010001")), commit=False)
    assert job.status == "validated" and job.file
    assert jobs.request_commit(job)
    assert not jobs.request_commit(job)  # a double click
    assert jobs.commit(job.pk).status == "done"
    assert jobs.commit(job.pk) is None  # a task delivered twice
    job.refresh_from_db()
    assert not job.file and Person.objects.count() == 3


def test_large_files_run_as_background_tasks(staff, settings):
    settings.LINLI_IMPORT_INLINE_KB = 0
    job = jobs.create_job(
        user=staff, upload=upload("a.csv", csv_bytes(family("4201050010001"))), kind="persons"
    )
    job = jobs.start_validation(job)  # ImmediateBackend in tests: the task has run
    assert job.status == "validated" and job.task_id
    job = jobs.start_commit(job)
    assert job.status == "done" and Person.objects.count() == 3


def test_history_rows_carry_the_import_channel(staff):
    run_import(staff, "a.csv", csv_bytes(family("4201050010001")))
    channels = set(ObjectChange.objects.filter(user=staff).values_list("channel", flat=True))
    assert channels == {Channel.IMPORT}


def test_cleanup_expires_unconfirmed_and_stuck_jobs(staff):
    import datetime as dt

    from django.core.management import call_command
    from django.utils import timezone

    from linli.dataio.models import ImportJob

    job = run_import(staff, "a.csv", csv_bytes(family("4201050010001")), commit=False)
    path = job.file.path
    stuck = ImportJob.objects.create(user=staff, kind="persons", original_name="b.csv", status="importing")
    old = timezone.now() - dt.timedelta(days=30)
    ImportJob.objects.filter(pk=job.pk).update(validated_at=old)
    ImportJob.objects.filter(pk=stuck.pk).update(created_at=old)
    call_command("imports", "cleanup")
    job.refresh_from_db()
    stuck.refresh_from_db()
    assert job.status == stuck.status == "failed" and "过期" in job.message and not job.file
    assert not __import__("os").path.exists(path)


def test_the_import_and_its_audit_record_commit_together(staff, snapshot, monkeypatch):
    from linli.dataio import jobs as jobs_module

    def broken_audit(*args, **kwargs):
        raise RuntimeError("audit trail unavailable (injected)")

    monkeypatch.setattr(jobs_module, "audit_record", broken_audit)
    before = snapshot()
    job = run_import(staff, "a.csv", csv_bytes(family("4201050010001")))
    assert job.status == "failed" and snapshot() == before


def test_update_moves_a_person_within_scope_and_renames_nothing_else(staff, area_tree):
    grid1, grid2 = area_tree["grids"][:2]
    person = make_person(grid1, name="搬家户", phone="13911110000")
    rows = [row("4201050010001", "户主", "搬家户", person.id_number, grid="2号网格", house="2-1-102")]
    job = run_import(staff, "a.csv", csv_bytes(rows))
    assert job.status == "done" and job.updated_count == 1, errors_of(job)
    person.refresh_from_db()
    assert person.area == grid2 and person.area_path == grid2.path and person.house.room_key == "2-1-102"
    assert person.phone == "13911110000" and person.pinyin  # untouched columns keep their values
    change = history_of(person).get(action=ChangeAction.UPDATE)
    assert {"area_id", "area_path", "house_id", "current_address"} <= set(change.postchange)


def test_statistics_follow_a_large_import_inside_its_transaction(staff, monkeypatch):
    """Without them the planner keeps planning for the registry as it was (empty here) and scans
    the whole person table for each chunk's key lookups."""
    rows = []
    for n in range(2000):
        rows += family(f"42010500{n:05d}", size=4)  # 8,000 rows: four chunks
    original = PersonHouseholdSpec.send
    seen = []

    def send(self, state, batch):
        with connection.cursor() as cursor:  # what the planner believes before this chunk
            if connection.vendor == "postgresql":
                cursor.execute("SELECT reltuples FROM pg_class WHERE relname = 'registry_person'")
                seen.append(cursor.fetchone()[0])
            elif not cursor.execute("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'").fetchone():
                seen.append(-1)  # never analysed
            else:
                cursor.execute("SELECT stat FROM sqlite_stat1 WHERE tbl = 'registry_person' LIMIT 1")
                stat = cursor.fetchone()
                seen.append(int(stat[0].split()[0]) if stat else -1)
        return original(self, state, batch)

    monkeypatch.setattr(PersonHouseholdSpec, "send", send)
    job = run_import(staff, "big.csv", csv_bytes(rows))
    assert job.status == "done", (job.message, errors_of(job))
    assert len(seen) == 4
    # Analysed after 6,000 rows were written, before the last chunk (SQLite's sampled count is near it).
    assert seen[-1] > 5000


@pytest.mark.parametrize("outcome", ["done", "failed"])
def test_nothing_stays_frozen_from_the_collector_after_a_run(staff, monkeypatch, outcome):
    """The passes hide each chunk's survivors from full collections (gc.freeze); the run gives
    them back however it ends, or a long-lived worker would never collect them."""
    import gc

    rows = []
    for n in range(1000):
        rows += family(f"42010500{n:05d}", size=3)
    frozen_during = []
    original = PersonHouseholdSpec.send

    def send(self, state, batch):
        frozen_during.append(gc.get_freeze_count())
        if outcome == "failed":
            raise RuntimeError("disk full (injected)")
        return original(self, state, batch)

    monkeypatch.setattr(PersonHouseholdSpec, "send", send)
    job = run_import(staff, "big.csv", csv_bytes(rows))
    assert job.status == outcome
    assert frozen_during and frozen_during[0] > 0  # survivors were frozen while the run went on …
    assert gc.get_freeze_count() == 0  # … and none is left frozen


def test_members_listed_before_their_head_take_its_grid_across_chunks(staff, area_tree):
    """A member without a grid waits for its household's head row, here two chunks further down;
    a member with a grid of its own is written at once, before its household's row exists."""
    filler = []
    for n in range(700):
        filler += family(f"42010500{n:05d}", size=3)  # 2,100 rows: the head below is in chunk 2
    early = [
        row("4201059999999", "子", "先到的成员", new_id(dt.date(2010, 1, 1))),  # no grid: waits
        row("4201059999999", "女", "自带网格", new_id(dt.date(2012, 1, 1), "2"), grid="1号网格"),
    ]
    head = row("4201059999999", "户主", "后到的户主", grid="2号网格", household_type="集体户",
               registered_address="湖北省武汉市汉阳区后到路1号")  # fmt: skip
    order = []
    original = PersonHouseholdSpec.send

    def send(self, state, batch):
        order.extend(p.row for p in batch.plans)
        return original(self, state, batch)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(PersonHouseholdSpec, "send", send)
        job = run_import(staff, "late-head.csv", csv_bytes([*early, *filler, head]))
    assert job.status == "done", (job.message, errors_of(job))
    connection.check_constraints()  # the foreign keys checked at commit hold (every household was written)
    assert job.counts["households_created"] == 701 and job.created_count == 2103
    household = Household.objects.get(number="4201059999999")
    second_grid = Person.objects.get(name="后到的户主").area
    assert second_grid.name == "2号网格" and household.area == second_grid
    assert (household.household_type, household.registered_address) == ("2", "湖北省武汉市汉阳区后到路1号")
    assert Person.objects.get(name="先到的成员").area == second_grid  # the head's grid
    assert Person.objects.get(name="自带网格").area.name == "1号网格"  # its own
    assert {m.person.name for m in household.current_members()} == {"先到的成员", "自带网格", "后到的户主"}
    # Rows 2 and 3 are the two early members: the one with a grid went with the first chunk, the
    # one without it after the head's chunk.
    assert order.index(3) < order.index(2104) < order.index(2)
    assert sorted(order) == list(range(2, 2105))


def test_an_error_found_while_writing_stops_the_writing_and_leaves_nothing(staff, snapshot, area_tree):
    """Checks run again inside the commit's transaction, as chunks are written: a conflict that
    appeared after the dry run is found four chunks in; the report is the dry run's, and the
    chunks already written are taken back."""
    rows = []
    for n in range(2000):
        rows += family(f"42010500{n:05d}", size=4)  # 8,000 rows
    job = run_import(staff, "late.csv", csv_bytes(rows), commit=False)
    assert job.status == "validated"
    info = parse_id_number(rows[7201]["id_number"])
    make_person(
        area_tree["grids"][0], name="另一个人", id_number=info.number, birth=info.birth_date, sex=info.sex
    )
    before = snapshot()
    sent = []
    original = PersonHouseholdSpec.send

    def send(self, state, batch):
        sent.append(len(batch.plans))
        return original(self, state, batch)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(PersonHouseholdSpec, "send", send)
        assert jobs.request_commit(job)
        job = jobs.commit(job.pk)
    assert job.status == "failed" and "未导入任何数据" in job.message
    assert sum(sent) >= 4000  # two chunks were written before the conflicting row's was checked …
    assert snapshot() == before  # … and taken back
    found = errors_of(job)
    assert found == [(7203, "姓名", found[0][2])] and "另一个人" in found[0][2]
    again = run_import(staff, "late.csv", csv_bytes(rows), commit=False)  # a dry run now says the same
    assert errors_of(again) == found


def test_a_household_without_a_head_is_found_after_its_members_were_written(staff, snapshot):
    rows = []
    for n in range(1200):
        rows += family(f"42010500{n:05d}", size=4)
    rows[4800:4800] = [
        row("4201059999999", "子", "无户主的成员", new_id(dt.date(2010, 1, 1)), grid="1号网格")
    ]
    before = snapshot()
    job = run_import(staff, "headless.csv", csv_bytes(rows))
    assert job.status == "failed"
    assert [e[:2] for e in errors_of(job)] == [(4802, "与户主关系")]
    assert snapshot() == before


def test_cells_are_parsed_in_the_worker_and_checked_on_the_transactions_thread(staff, monkeypatch):
    rows = []
    for n in range(1000):
        rows += family(f"42010500{n:05d}", size=3)
    threads = {"parse": set(), "verify": set()}
    original_parse, original_verify = PersonHouseholdSpec.parse, PersonHouseholdSpec.verify

    def parse(self, state, chunk):
        threads["parse"].add(threading.get_ident())
        return original_parse(self, state, chunk)

    def verify(self, state, parsed):
        threads["verify"].add(threading.get_ident())
        return original_verify(self, state, parsed)

    monkeypatch.setattr(PersonHouseholdSpec, "parse", parse)
    monkeypatch.setattr(PersonHouseholdSpec, "verify", verify)
    job = run_import(staff, "big.csv", csv_bytes(rows))
    assert job.status == "done", (job.message, errors_of(job))
    assert threads["verify"] == {threading.get_ident()}
    assert threads["parse"] and threading.get_ident() not in threads["parse"]
