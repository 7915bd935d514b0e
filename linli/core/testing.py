"""Builders for tests: a small area tree, houses, people with valid ID numbers."""

import datetime as dt
import itertools

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


def make_user(username: str, role: str | None = None, area=None, **fields):
    """A user, optionally holding ``role`` (a key of accounts/data/roles.json) over ``area``."""
    from linli.accounts.models import Role, RoleAssignment, User

    user = User.objects.create_user(username, password=fields.pop("password", "Linli@test2026"), **fields)
    if role is not None:
        RoleAssignment.objects.create(user=user, role=Role.objects.get(key=role), area=area)
    return user
