import datetime as dt

import pytest
from django.db.models import F
from django.utils import timezone

from linli.accounts.models import User
from linli.core import context
from linli.core.history import bulk_create, bulk_update, history_of, state_at
from linli.core.testing import make_person, next_id_number
from linli.registry.models import Person

pytestmark = pytest.mark.django_db


def test_single_change_records_who_when_channel_and_values(area_tree):
    user = User.objects.create_user("worker", password="x")
    with context.acting(user, channel=context.Channel.WEB):
        person = make_person(area_tree["grids"][0], occupation="教师")
        person.occupation = "退休"
        person.save(change_note="入户走访更新")
    create, update = history_of(person).order_by("time", "id")
    assert create.action == "create" and create.user == user and create.channel == "web"
    assert update.action == "update" and update.note == "入户走访更新"
    assert update.prechange["occupation"] == "教师"
    assert update.postchange == {"occupation": "退休"}
    assert update.area_path == person.area_path


def test_saving_without_changes_logs_nothing(area_tree):
    person = make_person(area_tree["grids"][0])
    Person.objects.get(pk=person.pk).save()
    assert history_of(person).count() == 1


def test_history_never_holds_plaintext_id_or_phone(area_tree):
    person = make_person(area_tree["grids"][0], phone="13812345678")
    person.phone = "13987654321"
    person.save()
    change = history_of(person).get(action="update")
    assert change.prechange["phone"].startswith("enc:")
    assert change.postchange["phone"].startswith("enc:")
    dump = str(change.prechange) + str(change.postchange)
    assert "13812345678" not in dump and "13987654321" not in dump and person.id_number not in dump


def test_queryset_update_logs_each_row(area_tree):
    grid = area_tree["grids"][0]
    people = [make_person(grid, name=f"人{i}", occupation="无") for i in range(3)]
    with context.acting(None, channel=context.Channel.IMPORT):
        n = Person.objects.filter(pk__in=[p.pk for p in people]).update(
            occupation="工人", version=F("version") + 1
        )
    assert n == 3
    for p in people:
        change = history_of(p).get(action="update")
        assert change.channel == "import"
        assert change.prechange["occupation"] == "无" and change.postchange == {"occupation": "工人"}


def test_bulk_create_and_bulk_update_log_history(area_tree):
    grid = area_tree["grids"][0]
    objs = []
    for i in range(5):
        p = Person(
            area=grid, area_path=grid.path, name=f"批量{i}", id_number=next_id_number(dt.date(1990, 1, 1))
        )
        p.derive()
        objs.append(p)
    created = bulk_create(Person, objs)
    assert all(history_of(p).filter(action="create").count() == 1 for p in created)
    loaded = list(Person.objects.filter(pk__in=[p.pk for p in created]).order_by("pk"))
    for p in loaded[:2]:
        p.employer = "汉阳钢厂"
    bulk_update(loaded, ["employer"])
    assert [history_of(p).filter(action="update").count() for p in loaded] == [1, 1, 0, 0, 0]
    assert Person.objects.filter(employer="汉阳钢厂").count() == 2


def test_any_past_state_can_be_shown(area_tree):
    person = make_person(area_tree["grids"][0], occupation="学生")
    t0 = timezone.now()
    person.occupation = "工程师"
    person.save()
    t1 = timezone.now()
    person.occupation = "经理"
    person.save()
    assert state_at(person, t0)["occupation"] == "学生"
    assert state_at(person, t1)["occupation"] == "工程师"
    assert state_at(person, timezone.now())["occupation"] == "经理"
    assert state_at(person, t0 - dt.timedelta(days=1)) is None


def test_queryset_delete_is_logged(area_tree):
    # Tags are plain configuration, but registry rows are never deleted: check the logged path
    # on a change-logged model that may be deleted (a unit without houses).
    from linli.areas.models import Unit
    from linli.registry.models import Tag

    unit = Unit.objects.create(
        area=area_tree["grids"][0], building=area_tree["houses"][0].building, name="9单元"
    )
    Unit.objects.filter(pk=unit.pk).delete()
    change = history_of(unit).get(action="delete")
    assert change.prechange["name"] == "9单元"
    assert Tag.objects.count() == 0
