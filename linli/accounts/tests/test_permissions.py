import pytest
from django.core.exceptions import PermissionDenied

from linli.accounts.models import Role, RoleAssignment
from linli.core import permissions
from linli.core.testing import make_person, make_user
from linli.core.views import ensure_in_scope
from linli.registry.models import Person

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(area_tree):
    return {grid.pk: make_person(grid, name=f"居民{i}") for i, grid in enumerate(area_tree["grids"])}


def visible(user, action="view"):
    return set(permissions.restrict(Person.objects.all(), user, action).values_list("name", flat=True))


def test_grid_worker_sees_only_their_grid(area_tree, people):
    grid = area_tree["grids"][3]
    worker = make_user("gw", "grid_worker", grid)
    assert visible(worker) == {people[grid.pk].name}


def test_community_and_subdistrict_scopes_nest(area_tree, people):
    community = area_tree["communities"][0]
    staff = make_user("cs", "community_staff", community)
    officer = make_user("so", "subdistrict_officer", area_tree["subdistricts"][1])
    assert len(visible(staff)) == 2
    assert len(visible(officer)) == 4
    assert visible(staff).isdisjoint(visible(officer))


def test_several_assignments_are_a_union_and_nested_ones_collapse(area_tree, people):
    user = make_user("multi", "grid_worker", area_tree["grids"][0])
    RoleAssignment.objects.create(
        user=user, role=Role.objects.get(key="grid_worker"), area=area_tree["grids"][5]
    )
    RoleAssignment.objects.create(
        user=user, role=Role.objects.get(key="community_staff"), area=area_tree["communities"][0]
    )
    permissions.forget(user)
    assert permissions.scope_paths(user, "registry.view_person") == sorted(
        [area_tree["communities"][0].path, area_tree["grids"][5].path]
    )
    assert len(visible(user)) == 3


def test_no_role_or_wrong_action_sees_nothing(area_tree, people):
    assert visible(make_user("plain")) == set()
    informant = make_user("bh", "building_head", area_tree["grids"][0])
    assert len(visible(informant)) == 1
    assert visible(informant, "change") == set()  # informants report; they do not edit the registry
    auditor = make_user("au", "auditor", area_tree["district"])
    assert visible(auditor) == set()  # separation of duties: the auditor reads audit logs only


def test_disabled_user_has_no_scope(area_tree, people):
    user = make_user("gone", "community_staff", area_tree["communities"][0])
    user.is_active = False
    user.save()
    permissions.forget(user)
    assert visible(user) == set()


def test_superuser_flag_grants_nothing(area_tree, people):
    root = make_user("root", is_superuser=True)
    assert visible(root) == set()


def test_has_perm_on_objects(area_tree, people):
    grid = area_tree["grids"][0]
    worker = make_user("gw", "grid_worker", grid)
    assert permissions.has_perm(worker, "registry.change_person", people[grid.pk])
    assert not permissions.has_perm(worker, "registry.change_person", people[area_tree["grids"][1].pk])
    assert permissions.has_perm(worker, "registry.view_person")
    assert not permissions.has_perm(worker, "audit.view_auditevent")


def test_a_write_that_leaves_the_scope_is_refused(area_tree, people):
    grid, other = area_tree["grids"][0], area_tree["grids"][4]
    worker = make_user("gw", "grid_worker", grid)
    person = people[grid.pk]
    person.area = other
    person.save()
    with pytest.raises(PermissionDenied):
        ensure_in_scope(person, worker, "change")


def test_field_groups_follow_role_and_area(area_tree):
    community = area_tree["communities"][0]
    leader = make_user("ld", "community_leader", community)
    staff = make_user("cs", "community_staff", community)
    assert "special" in permissions.field_groups(leader, area_tree["grids"][0].path)
    assert "special" not in permissions.field_groups(staff, area_tree["grids"][0].path)
    assert permissions.field_groups(leader, area_tree["grids"][4].path) == frozenset()


def test_two_factor_required_for_wide_scopes_and_admins(area_tree):
    assert not permissions.requires_two_factor(make_user("gw", "grid_worker", area_tree["grids"][0]))
    assert not permissions.requires_two_factor(
        make_user("cs", "community_staff", area_tree["communities"][0])
    )
    assert permissions.requires_two_factor(
        make_user("so", "subdistrict_officer", area_tree["subdistricts"][0])
    )
    assert permissions.requires_two_factor(make_user("ad", "admin", area_tree["district"]))
    assert permissions.requires_two_factor(make_user("au", "auditor", area_tree["district"]))
