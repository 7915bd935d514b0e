"""Builders for tests: a small area tree, houses, people with valid ID numbers."""

import datetime as dt
import itertools
import re

from linli.core.validators import compose_id_number

_sequence = itertools.count(1)


def next_id_number(birth_date: dt.date, sex: str = "1", region: str = "420105") -> str:
    """A valid, unique ID number for a test person (odd sequence for men, even for women)."""
    n = next(_sequence) % 499
    seq = n * 2 + (1 if sex == "1" else 0)
    return compose_id_number(region, birth_date, seq % 1000)


def build_area_tree():
    """区 → 2 街道 → 2 社区 each → 2 网格 each, with a building and four houses per grid."""
    from linli.areas.models import Area, Building, House, Unit

    district = Area.objects.add_root(instance=Area(level="district", name="汉阳区", code="420105"))
    tree = {"district": district, "subdistricts": [], "communities": [], "grids": [], "houses": []}
    for s in range(1, 3):
        sub = district.add_area(name=f"第{s}街道", code=f"420105{s:03d}")
        tree["subdistricts"].append(sub)
        for c in range(1, 3):
            community = sub.add_area(name=f"第{s}-{c}社区", code=f"420105{s:03d}{c:03d}")
            tree["communities"].append(community)
            for g in range(1, 3):
                grid = community.add_area(name=f"{g}号网格", grid_number=g)
                tree["grids"].append(grid)
                building = Building.objects.create(area=grid, name=f"{g}栋", street_address=f"测试路{s}{c}号")
                unit = Unit.objects.create(area=grid, building=building, name="1单元")
                for room in ("101", "102", "201", "202"):
                    tree["houses"].append(
                        House.objects.create(area=grid, building=building, unit=unit, room=room)
                    )
    return tree


def make_person(area, *, name="张三", birth=dt.date(1980, 5, 17), sex="1", save=True, **fields):
    from linli.registry.models import Person

    person = Person(area=area, name=name, birth_date=birth, sex=sex, **fields)
    if "id_number" not in fields:
        person.id_number = next_id_number(birth, sex)
    if save:
        person.full_clean()
        person.save()
    return person


def make_couple_household(grid, house):
    """张三 (head, with a phone) and his wife 李秀英 in one household: the browser tests' family."""
    from linli.registry import services

    head = make_person(grid, name="张三", birth=dt.date(1962, 3, 1), house=house, phone="13812345678")
    wife = make_person(grid, name="李秀英", birth=dt.date(1964, 8, 3), sex="2", house=house)
    household = services.create_household(
        number="420105000123", head=head, house=house, date=dt.date(2000, 1, 1)
    )
    services.move_in(wife, household=household, relation="12", date=dt.date(2000, 1, 1))
    return household


def make_user(username: str, role: str | None = None, area=None, **fields):
    """A user, optionally holding ``role`` (a key of accounts/data/roles.json) over ``area``."""
    from linli.accounts.models import Role, RoleAssignment, User

    user = User.objects.create_user(username, password=fields.pop("password", "Linli@test2026"), **fields)
    if role is not None:
        RoleAssignment.objects.create(user=user, role=Role.objects.get(key=role), area=area)
    return user


def object_factories():
    """Model label → function(grid, owner) making one object of that model in the grid (route tests).

    ``owner`` is the user the object should belong to, for objects scoped by owner (import jobs).
    """
    from linli.areas.models import Building, House
    from linli.audit import events, record
    from linli.core.history import history_of
    from linli.registry import services
    from linli.registry.models import GroupMembership, GroupType

    counter = iter(range(10_000, 99_999))

    def person(grid, owner=None):
        return make_person(grid, name=f"测试{next(counter)}", birth=dt.date(1970, 1, 1), phone="13900001111")

    def household(grid, owner=None):
        return services.create_household(number=f"H{next(counter)}", head=person(grid))

    def house(grid, owner=None):
        return House.objects.filter(area=grid).first()

    def building(grid, owner=None):
        return Building.objects.filter(area=grid).first()

    def group_membership(grid, owner=None):
        p = person(grid)
        gm = GroupMembership(person=p, area=grid, group_type=GroupType.objects.get(key="veteran"))
        gm.save()
        return gm

    def audit_event(grid, owner=None):
        return record(events.SENSITIVE_READ, area_path=grid.path, detail={"test": True})

    def object_change(grid, owner=None):
        return history_of(person(grid)).first()

    def event(grid, owner=None):
        from linli.events import workflow
        from linli.events.models import EventCategory

        return workflow.report_event(category=EventCategory.objects.get(code="1002"), title="测试事件",
                                     location_area=grid, channel="hotline")  # fmt: skip

    def import_job(grid, owner=None):
        from django.core.files.base import ContentFile

        from linli.dataio.models import ImportJob

        owner = owner or make_user(f"owner{next(counter)}")
        job = ImportJob.objects.create(user=owner, kind="persons", original_name="台账.csv", area=grid,
                                       area_path=grid.path, error_count=1)  # fmt: skip
        job.error_report.save("errors.csv", ContentFile("行号,列,原因\n2,身份证号,校验位错误\n".encode()))
        return job

    def grid_user(grid, owner=None):
        return owner or make_user(f"gridworker{next(counter)}", "grid_worker", grid)

    def grid_assignment(grid, owner=None):
        from linli.grid.models import GridAssignment

        assignment = GridAssignment(area=grid, user=make_user(f"gw{next(counter)}", "grid_worker", grid),
                                    role="deputy")  # fmt: skip
        assignment.save()
        return assignment

    def visit(grid, owner=None):
        from linli.grid import services as grid_services

        return grid_services.record_visit(household=household(grid), visitor=grid_user(grid, owner),
                                          findings="测试走访")  # fmt: skip

    def visit_photo(grid, owner=None):
        from django.core.files.base import ContentFile

        from linli.grid.models import VisitPhoto

        photo = VisitPhoto(visit=visit(grid, owner), original_name="门牌.jpg", content_type="image/jpeg", size=4,
                           sha256="0" * 64)  # fmt: skip
        photo.file.save("门牌.jpg", ContentFile(b"\xff\xd8\xff\xe0"), save=False)
        photo.save()
        return photo

    def diary_entry(grid, owner=None):
        from linli.grid.models import DiaryEntry

        entry = DiaryEntry(area=grid, author=make_user(f"diarist{next(counter)}", "grid_worker", grid),
                           date=dt.date(2026, 1, 5), content="走访 3 户")  # fmt: skip
        entry.save()
        return entry

    def patrol(grid, owner=None):
        from django.utils import timezone

        from linli.grid.models import Patrol

        item = Patrol(area=grid, user=grid_user(grid, owner), started_at=timezone.now() - dt.timedelta(hours=2),
                      ended_at=timezone.now() - dt.timedelta(hours=1))  # fmt: skip
        item.save()
        return item

    def duty_shift(grid, owner=None):
        from django.utils import timezone

        from linli.grid.models import DutyShift

        start = timezone.now().replace(minute=0, second=0, microsecond=0)
        shift = DutyShift(
            area=grid, volunteer_name="值班志愿者", starts_at=start, ends_at=start + dt.timedelta(hours=4)
        )
        shift.save()
        return shift

    return {
        "grid.gridassignment": grid_assignment,
        "grid.visit": visit,
        "grid.visitphoto": visit_photo,
        "grid.diaryentry": diary_entry,
        "grid.patrol": patrol,
        "grid.dutyshift": duty_shift,
        "audit.auditevent": audit_event,
        "core.objectchange": object_change,
        "registry.person": person,
        "registry.household": household,
        "areas.house": house,
        "areas.building": building,
        "areas.area": lambda grid, owner=None: grid,
        "accounts.user": lambda grid, owner=None: make_user(f"managed{next(counter)}", "grid_worker", grid),
        "dataio.importjob": import_job,
        "events.event": event,
        "registry.groupmembership": group_membership,
    }


def build_url(route, objects: dict) -> str:
    """The URL of a :class:`linli.core.routes.Route` with its kwargs filled from ``objects``."""
    url = "/" + route.pattern.replace("^", "").replace("$", "")
    for kwarg in route.kwargs:
        value = objects[kwarg]
        url = re.sub(rf"<(?:\w+:)?{kwarg}>|\(\?P<{kwarg}>[^)]*\)", str(getattr(value, "pk", value)), url)
    return url


def login_as(user):
    """A test client logged in as ``user``, with a verified TOTP device when the user needs one."""
    from django.test import Client
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from linli.core import permissions

    client = Client()
    client.force_login(user)

    if permissions.requires_two_factor(user):
        device = TOTPDevice.objects.create(user=user, name="t", confirmed=True)
        session = client.session
        session["otp_device_id"] = device.persistent_id
        session.save()
    return client
