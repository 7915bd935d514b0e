import pytest
from django.core.exceptions import ValidationError

from linli.areas.models import Area, House
from linli.core.scope import path_range_q, path_successor
from linli.core.testing import make_person
from linli.registry.models import Person


def test_path_successor():
    assert path_successor("0001") == "0002"
    assert path_successor("000Z") == "001"
    assert path_successor("0009") == "000A"
    assert path_successor("ZZZZ") is None


def test_tree_shape_and_codes(area_tree):
    district = area_tree["district"]
    assert Area.objects.get_descendants(district).count() == 2 + 4 + 8
    grid = area_tree["grids"][0]
    community = Area.objects.get_parent(grid)
    assert grid.level == "grid"
    # CJ/T 349-2010: object code + 12-digit community code + 2-digit grid number.
    assert grid.grid_code == "000000" + community.code + "01"
    assert len(grid.grid_code) == 20
    assert grid.full_name == "汉阳区第1街道第1-1社区1号网格"


def test_levels_and_codes_are_checked(area_tree):
    community = area_tree["communities"][0]
    with pytest.raises(ValidationError):
        community.add_area(name="错层级", level="subdistrict")
    sub = area_tree["subdistricts"][0]
    with pytest.raises(ValidationError) as exc:
        sub.add_area(name="坏代码", code="420199001001")  # does not start with the parent's code
    assert "上级代码" in str(exc.value)
    with pytest.raises(ValidationError):
        area_tree["grids"][0].add_area(name="网格下级")


def test_boundary_must_be_a_closed_polygon(area_tree):
    grid = area_tree["grids"][0]
    grid.boundary = {"type": "Polygon", "coordinates": [[[114.2, 30.5], [114.3, 30.5], [114.3, 30.6]]]}
    with pytest.raises(ValidationError):
        grid.full_clean()
    grid.boundary["coordinates"][0].append([114.2, 30.5])
    grid.full_clean()


def test_path_range_selects_exactly_the_subtree(area_tree):
    """Every grid's people are found under each ancestor and under no sibling."""
    for i, grid in enumerate(area_tree["grids"]):
        make_person(grid, name=f"居民{i}")
    for area in Area.objects.all():
        expected = {p.pk for p in Person.objects.all() if p.area.path.startswith(area.path)}
        assert set(Person.objects.within(area).values_list("pk", flat=True)) == expected
        assert set(Person.objects.filter(path_range_q(area.path)).values_list("pk", flat=True)) == expected
    first_sub, second_sub = area_tree["subdistricts"]
    assert Person.objects.within(first_sub).count() == 4
    assert not Person.objects.within(first_sub).filter(pk__in=Person.objects.within(second_sub)).exists()


def test_house_address_and_room_key(area_tree):
    house = House.objects.get(pk=area_tree["houses"][0].pk)
    assert house.address == "测试路11号 1栋 1单元 101室"
    assert house.room_key == "1-1-101"
    assert house.area_path == house.area.path
