"""The demo generator builds data that obeys the registry's own rules.

One small district is generated per module (and rolled back at the end); a second run with the
same seed, rolled back at once, must give the same people.
"""

import datetime as dt
import hashlib
from collections import Counter
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db import transaction
from django.db.models import Count, F, Q, Value
from django.db.models.functions import Concat

from linli.areas.choices import AreaLevel, HouseUse
from linli.areas.models import Area, Building, House, Unit
from linli.codes.models import Code
from linli.core.context import Channel
from linli.core.models import ChangeAction, ObjectChange
from linli.core.validators import parse_id_number
from linli.registry import demo
from linli.registry.choices import HEAD_RELATION, HouseholdStatus, LifeEventKind, PersonStatus, PopulationType
from linli.registry.groups import validate_detail
from linli.registry.models import (
    GroupMembership,
    Household,
    LifeEvent,
    Membership,
    Person,
    Tenancy,
    add_years,
)

PEOPLE = 600
SEED = 4761

pytestmark = pytest.mark.django_db


def person_digest() -> str:
    rows = sorted(Person.objects.values_list("name", "birth_date", "sex").iterator())
    numbers = sorted(p.id_number for p in Person.objects.only("id_number", "id_type"))
    return hashlib.sha256(repr((rows, numbers)).encode()).hexdigest()


@pytest.fixture(scope="module")
def run(django_db_setup, django_db_blocker):
    """Generate twice with the same seed: once rolled back at once, once kept for the module's tests."""
    with django_db_blocker.unblock():
        with transaction.atomic():
            demo.generate(PEOPLE, seed=SEED)
            first = person_digest()
            transaction.set_rollback(True)
        with transaction.atomic():
            summary = demo.generate(PEOPLE, seed=SEED)
            yield {"summary": summary, "first_digest": first, "digest": person_digest()}
            transaction.set_rollback(True)


def test_scale_grows_with_people():
    small = demo.Scale.for_people(600, 11)
    assert (small.subdistricts, small.communities, small.grids) == (1, 1, 1)
    default = demo.Scale.for_people(2000, 11)
    assert default.grids == 2
    large = demo.Scale.for_people(1_000_000, 11)
    assert large.subdistricts == 11
    assert 110 <= large.communities <= 130
    assert 250 <= large.households / large.grids <= 350  # seed 004: about 300 households per grid worker


def test_same_seed_gives_the_same_people(run):
    assert run["digest"] == run["first_digest"]


def test_counts_are_close_to_what_was_asked(run):
    persons = Person.objects.count()
    assert abs(persons - PEOPLE) <= PEOPLE * 0.05
    households = Household.objects.count()
    assert 2.2 <= persons / households <= 3.4
    assert House.objects.count() >= households
    assert GroupMembership.objects.exists()
    assert (
        run["summary"].persons
        == Person.objects.count()
        - LifeEvent.objects.filter(kind__in=[LifeEventKind.BIRTH, LifeEventKind.MOVE_IN]).count()
    )


def test_id_numbers_are_valid_unique_and_agree_with_birth_date_and_sex(run):
    persons = list(Person.objects.only("id_type", "id_number", "birth_date", "sex"))
    numbers = [p.id_number for p in persons if p.id_number]
    assert len(numbers) == len(set(numbers)) == len(persons)
    citizens = [p for p in persons if p.id_type == "111"]
    assert len(citizens) >= 0.95 * len(persons)
    for person in citizens:
        info = parse_id_number(person.id_number)
        assert (info.birth_date, info.sex) == (person.birth_date, person.sex), person.id_number
    for person in persons:
        if person.id_type != "111":
            assert person.population_type == PopulationType.FOREIGN


def test_every_active_household_has_exactly_one_head(run):
    heads = Count(
        "memberships", filter=Q(memberships__relation=HEAD_RELATION, memberships__end_date__isnull=True)
    )
    counts = Household.objects.filter(status=HouseholdStatus.ACTIVE).annotate(heads=heads)
    assert counts.exists()
    assert set(counts.values_list("heads", flat=True)) == {1}
    # Dissolved households have nobody left in them.
    dissolved = Household.objects.filter(status=HouseholdStatus.DISSOLVED)
    assert not Membership.objects.filter(household__in=dissolved, end_date__isnull=True).exists()


def test_every_current_resident_is_in_one_household(run):
    active = Person.objects.filter(status=PersonStatus.ACTIVE)
    in_household = Membership.objects.filter(end_date__isnull=True).values_list("person_id", flat=True)
    assert set(active.values_list("id", flat=True)) == set(in_household)
    gone = Person.objects.exclude(status=PersonStatus.ACTIVE)
    assert not Membership.objects.filter(person__in=gone, end_date__isnull=True).exists()


def test_relations_agree_with_ages(run):
    heads = {
        m.household_id: m.person.birth_date
        for m in Membership.objects.filter(relation=HEAD_RELATION, end_date__isnull=True).select_related(
            "person"
        )
    }
    checked = Counter()
    for m in (
        Membership.objects.filter(end_date__isnull=True)
        .exclude(relation=HEAD_RELATION)
        .select_related("person")
    ):
        head_birth, birth = heads[m.household_id], m.person.birth_date
        family = m.relation[0]
        if family in "234":  # children, children-in-law, grandchildren
            assert birth >= add_years(head_birth, 16), (m.relation, head_birth, birth)
        elif family == "5":  # parents and parents-in-law
            assert birth <= add_years(head_birth, -16), (m.relation, head_birth, birth)
        elif family == "1":  # spouse
            assert add_years(head_birth, -15) <= birth <= add_years(head_birth, 15), (head_birth, birth)
        checked[family] += 1
    assert checked["1"] and checked["2"] + checked["3"]


def test_relation_codes_match_sex(run):
    male, female = {"11", "21", "22", "23", "28", "41", "43", "51", "53", "55", "71", "73"}, {
        "12", "31", "32", "33", "38", "42", "44", "52", "54", "56", "75", "77"
    }  # fmt: skip
    for relation, sex in Membership.objects.values_list("relation", "person__sex"):
        assert not (relation in male and sex == "2") and not (relation in female and sex == "1"), relation


def test_everything_sits_in_a_grid_with_its_path(run):
    assert Area.objects.get(level=AreaLevel.DISTRICT).code == demo.DISTRICT_CODE
    subdistrict_codes = set(
        Code.objects.filter(table__key="subdistrict", parent_code=demo.DISTRICT_CODE).values_list(
            "code", flat=True
        )
    )
    for sub in Area.objects.filter(level=AreaLevel.SUBDISTRICT):
        assert sub.code in subdistrict_codes
    for community in Area.objects.filter(level=AreaLevel.COMMUNITY):
        assert len(community.code) == 12 and community.name.endswith("社区")
    for grid in Area.objects.filter(level=AreaLevel.GRID):
        assert len(grid.grid_code) == 20 and grid.grid_number >= 1 and grid.boundary
    for model in (Person, Household, House, Building, Unit, GroupMembership, Tenancy):
        rows = model.objects.all()
        assert rows.exists(), model
        assert not rows.exclude(area__level=AreaLevel.GRID).exists(), model
        assert not rows.exclude(area_path=F("area__path")).exists(), model


def test_houses_have_addresses_uses_and_owners(run):
    houses = list(House.objects.select_related("building", "unit"))
    uses = Counter(h.use for h in houses)
    assert uses[HouseUse.OWNER_OCCUPIED] and uses[HouseUse.RENTED] and uses[HouseUse.VACANT]
    for house in houses:
        assert house.address == house.compose_address() and house.room_key == house.compose_room_key()
        assert house.floor_area and house.floor_area > 0
        if house.use in (HouseUse.OWNER_OCCUPIED, HouseUse.RENTED):
            assert house.owner_id or house.owner_name
    occupied = set(Household.objects.values_list("house_id", flat=True))
    assert not House.objects.filter(use=HouseUse.VACANT, pk__in=occupied).exists()


def test_tenants_rent_from_the_owner(run):
    tenancies = list(Tenancy.objects.select_related("house", "tenant"))
    assert tenancies
    for tenancy in tenancies:
        assert tenancy.house.use == HouseUse.RENTED
        assert tenancy.landlord_id == tenancy.house.owner_id
        assert tenancy.landlord_id != tenancy.tenant_id


def test_population_types_and_floating_details(run):
    persons = Person.objects.all()
    shares = Counter(persons.values_list("population_type", flat=True))
    total = sum(shares.values())
    assert 0.7 <= shares[PopulationType.REGISTERED] / total <= 0.9
    assert 0.08 <= shares[PopulationType.FLOATING] / total <= 0.28
    for person in persons.filter(population_type=PopulationType.FLOATING):
        assert person.inflow_reason and person.origin_region and person.residence_permit_type
        assert person.residence_status == "40" and person.inflow_date >= person.birth_date
        assert (person.residence_permit_type in ("1", "2")) == (person.residence_permit_expiry is not None)


def test_group_memberships_are_valid_and_never_derived(run):
    memberships = list(GroupMembership.objects.select_related("group_type", "person"))
    assert not [m for m in memberships if m.group_type.is_derived]
    for m in memberships:
        assert validate_detail(m.group_type, m.detail) == m.detail
        assert m.area_id == m.person.area_id
    keys = Counter(m.group_type.key for m in memberships)
    assert {"disabled", "party_member", "chronic_disease"} <= set(keys)
    party = Person.objects.filter(political_status__in=["01", "02"])
    assert set(party.values_list("id", flat=True)) == {
        m.person_id for m in memberships if m.group_type.key == "party_member"
    }


def test_elderly_classes_only_for_the_elderly(run):
    today = dt.date.today()
    elderly_keys = ["elderly_alone", "elderly_empty_nest", "elderly_dependent", "elderly_poor"]
    for m in GroupMembership.objects.filter(group_type__key__in=elderly_keys).select_related("person"):
        assert m.person.age(today) >= 60


def test_heteronym_surnames_are_there_to_search(run):
    for surname, reading in (("单", "shan"), ("曾", "zeng"), ("解", "xie")):
        person = Person.objects.filter(name__startswith=surname).first()
        assert person is not None, surname
        assert f" {reading}" in person.pinyin_keys


def test_life_events_went_through_the_services(run):
    kinds = Counter(LifeEvent.objects.values_list("kind", flat=True))
    assert kinds[LifeEventKind.BIRTH] and kinds[LifeEventKind.DEATH] and kinds[LifeEventKind.MOVE_OUT]
    for event in LifeEvent.objects.filter(kind=LifeEventKind.DEATH).select_related("person"):
        assert event.person.status == PersonStatus.DECEASED and event.person.status_date == event.date
    for event in LifeEvent.objects.filter(kind=LifeEventKind.BIRTH).select_related("person"):
        assert event.person.birth_date == event.date
    assert set(LifeEvent.objects.values_list("channel", flat=True)) == {Channel.DEMO}


def test_history_records_the_demo_channel(run):
    assert set(ObjectChange.objects.values_list("channel", flat=True)) == {Channel.DEMO}
    created = ObjectChange.objects.filter(action=ChangeAction.CREATE, content_type__model="person").count()
    assert created == Person.objects.count()


def test_demo_accounts(run):
    users = get_user_model().objects.in_bulk(field_name="username")
    assert {a.username for a in demo.DEMO_ACCOUNTS} <= set(users)
    assert not users["admin"].is_superuser and users["admin"].check_password(demo.DEMO_PASSWORD)
    from linli.core import permissions

    worker, auditor = users["gridworker"], users["auditor"]
    assert permissions.roles(worker) == ["grid_worker"] and permissions.roles(auditor) == ["auditor"]
    grid_people = permissions.restrict(Person.objects.all(), worker)
    assert 0 < grid_people.count() < Person.objects.count() or Area.objects.filter(level="grid").count() == 1
    assert not permissions.restrict(Person.objects.all(), auditor).exists()
    out = StringIO()
    call_command("accounts", stdout=out)
    text = out.getvalue()
    assert "gridworker" in text and demo.DEMO_PASSWORD in text and demo.DEMO_URL in text


def test_demo_command_leaves_a_populated_database_alone(run):
    before = Person.objects.count()
    out = StringIO()
    call_command("demo", "--if-empty", "--people", "50", stdout=out)
    assert "跳过" in out.getvalue() and Person.objects.count() == before
    with pytest.raises(CommandError):
        call_command("demo", "--people", "50", stdout=StringIO())


def test_accounts_command_without_demo_users():
    # The module's demo run may be alive: rename its users (rolled back with this test).
    demo_users = get_user_model().objects.filter(username__in=[a.username for a in demo.DEMO_ACCOUNTS])
    demo_users.update(username=Concat("username", Value("-renamed")))
    out = StringIO()
    call_command("accounts", stdout=out)
    assert "linli demo" in out.getvalue()
