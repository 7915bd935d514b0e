"""Registry services: the life events that change residents, households and memberships.

Each function is one transaction that validates first, then writes the rows (every write goes
through the change history) and one :class:`LifeEvent`. Nobody is ever deleted: a death or a
move-out ends a membership and changes a status.
"""

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from linli.core import context
from linli.core.history import log_action
from linli.core.models import ChangeAction

from .choices import HEAD_RELATION, HouseholdStatus, LifeEventKind, PersonStatus
from .models import GroupMembership, Household, LifeEvent, Membership, Person, Tenancy
from .signals import person_merged


class RegistryError(ValidationError):
    """A life event that cannot happen as asked; the message says why, in Chinese and English."""


def _event(kind, date, *, area, person=None, household=None, other=None, place="", note="") -> LifeEvent:
    # A birth, death or move dated after today cannot have happened (robustness suite: a death in
    # 2028 was recorded). Raised inside the service's transaction, so nothing of it is kept.
    if date > timezone.localdate():
        raise RegistryError(
            f"日期 {date:%Y-%m-%d} 晚于今天，人口变动只能登记已发生的事 (the date is in the future)",
            code="future_date",
        )
    ctx = context.current()
    return LifeEvent.objects.create(
        kind=kind,
        date=date,
        person=person,
        household=household,
        other_household=other,
        place=place,
        note=note,
        area=area,
        area_path=area.path,
        recorded_by=ctx.user if getattr(ctx.user, "pk", None) else None,
        channel=ctx.channel,
    )


def _current_membership(person: Person) -> Membership | None:
    return person.memberships.filter(end_date__isnull=True).select_related("household").first()


def _end(membership: Membership, date: dt.date, reason: str) -> None:
    if membership.start_date and date < membership.start_date:
        raise RegistryError(
            gettext("日期 %(date)s 早于入户日期 %(start_date)s (date is before the membership began)")
            % {"date": date, "start_date": membership.start_date}
        )
    membership.end_date = date
    membership.end_reason = reason
    membership.save(change_note=reason)


def _ensure_head_continues(
    household: Household,
    leaving: Person,
    new_head: Person | None,
    date: dt.date,
    reason: str = LifeEventKind.MOVE_OUT,
) -> None:
    """When the head leaves a household that keeps members, another member must become head."""
    head_membership = household.memberships.filter(relation=HEAD_RELATION, end_date__isnull=True).first()
    if head_membership is None or head_membership.person_id != leaving.pk:
        return
    others = household.memberships.filter(end_date__isnull=True).exclude(person=leaving)
    if not others.exists():
        return
    if new_head is None:
        raise RegistryError(
            gettext("户主离开后该户仍有成员，请指定新户主 (the head leaves: name a new head)")
        )
    successor = others.filter(person=new_head).first()
    if successor is None:
        raise RegistryError(gettext("新户主须是该户现有成员 (the new head must be a current member)"))
    # End the old head's membership first so the one-head constraint never sees two heads.
    _end(head_membership, date, reason)
    successor.relation = HEAD_RELATION
    successor.save(change_note="变更户主 new head")


def _dissolve_if_empty(household: Household, date: dt.date) -> None:
    if not household.memberships.filter(end_date__isnull=True).exists():
        household.status = HouseholdStatus.DISSOLVED
        household.status_date = date
        household.save(change_note="户内已无成员 no members left")


@transaction.atomic
def create_household(*, number: str, head: Person, area=None, house=None, household_type: str = "1",
                     date: dt.date | None = None, registered_address: str = "") -> Household:  # fmt: skip
    """A new household with its head (an existing person without a current household)."""
    date = date or dt.date.today()
    if _current_membership(head) is not None:
        raise RegistryError(
            gettext("%(name)s 已在其他户中，请用“迁入”或“分户” (already a member of a household)")
            % {"name": head.name}
        )
    area = area or head.area
    household = Household(number=number, area=area, house=house, household_type=household_type,
                          registered_address=registered_address)  # fmt: skip
    household.full_clean()
    household.save()
    Membership(household=household, person=head, relation=HEAD_RELATION, start_date=date).save()
    return household


@transaction.atomic
def record_birth(person: Person, *, household: Household, relation: str, date: dt.date | None = None,
                 note: str = "") -> Person:  # fmt: skip
    """A child born into a household: a new person record and its membership (出生)."""
    if household.status != HouseholdStatus.ACTIVE:
        raise RegistryError(gettext("该户已注销 (the household is dissolved)"))
    if relation == HEAD_RELATION:
        raise RegistryError(gettext("新生儿不能登记为户主 (a newborn cannot be the head)"))
    date = date or person.birth_date
    if date is None:
        raise RegistryError(gettext("请填写出生日期 (birth date is required)"))
    person.birth_date = person.birth_date or date
    person.area = household.area
    person.house = person.house or household.house
    person.status = PersonStatus.ACTIVE
    person.full_clean()
    person.save(change_note="出生登记 birth")
    Membership(household=household, person=person, relation=relation, start_date=date).save()
    _event(LifeEventKind.BIRTH, date, area=household.area, person=person, household=household, note=note)
    return person


@transaction.atomic
def record_death(
    person: Person, *, date: dt.date, new_head: Person | None = None, note: str = ""
) -> LifeEvent:
    """死亡: the membership ends, the record stays with its status and date."""
    if person.status != PersonStatus.ACTIVE:
        raise RegistryError(gettext("%(name)s 不是在册人员 (not an active resident)") % {"name": person.name})
    if person.birth_date and date < person.birth_date:
        raise RegistryError(gettext("死亡日期早于出生日期 (death before birth)"))
    membership = _current_membership(person)
    household = membership.household if membership else None
    if household is not None:
        _ensure_head_continues(household, person, new_head, date, LifeEventKind.DEATH)
        membership.refresh_from_db()
        if membership.end_date is None:
            _end(membership, date, LifeEventKind.DEATH)
    person.status = PersonStatus.DECEASED
    person.status_date = date
    person.save(change_note="死亡 death")
    GroupMembership.objects.filter(person=person, end_date__isnull=True).update(
        end_date=date, end_reason="死亡"
    )
    event = _event(LifeEventKind.DEATH, date, area=person.area, person=person, household=household, note=note)
    if household is not None:
        _dissolve_if_empty(household, date)
    return event


@transaction.atomic
def move_in(person: Person, *, household: Household, relation: str, date: dt.date, place: str = "",
            note: str = "") -> Person:  # fmt: skip
    """迁入: a person (new to the registry, or moving between households) joins a household."""
    if household.status != HouseholdStatus.ACTIVE:
        raise RegistryError(gettext("该户已注销 (the household is dissolved)"))
    if (
        relation == HEAD_RELATION
        and household.memberships.filter(relation=HEAD_RELATION, end_date__isnull=True).exists()
    ):
        raise RegistryError(gettext("该户已有户主 (the household already has a head)"))
    kind = LifeEventKind.MOVE_IN
    if person.pk:
        if person.status not in (PersonStatus.ACTIVE, PersonStatus.MOVED_OUT):
            raise RegistryError(
                gettext("%(name)s 的状态为“%(get_status_display)s”，不能迁入")
                % {"name": person.name, "get_status_display": person.get_status_display()}
            )
        current = _current_membership(person)
        if current is not None:
            if current.household_id == household.pk:
                raise RegistryError(
                    gettext("%(name)s 已是该户成员 (already a member)") % {"name": person.name}
                )
            _ensure_head_continues(current.household, person, None, date)
            _end(current, date, LifeEventKind.MOVE_WITHIN)
            kind = LifeEventKind.MOVE_WITHIN
    person.area = household.area
    person.house = household.house
    person.status = PersonStatus.ACTIVE
    person.status_date = date
    person.full_clean()
    person.save(change_note="迁入 move in")
    Membership(household=household, person=person, relation=relation, start_date=date).save()
    _event(kind, date, area=household.area, person=person, household=household, place=place, note=note)
    return person


@transaction.atomic
def move_out(person: Person, *, date: dt.date, place: str = "", new_head: Person | None = None,
             note: str = "") -> LifeEvent:  # fmt: skip
    """迁出: the person leaves the area; the record stays, marked as moved out."""
    if person.status != PersonStatus.ACTIVE:
        raise RegistryError(gettext("%(name)s 不是在册人员 (not an active resident)") % {"name": person.name})
    membership = _current_membership(person)
    household = membership.household if membership else None
    if household is not None:
        _ensure_head_continues(household, person, new_head, date)
        membership.refresh_from_db()
        if membership.end_date is None:
            _end(membership, date, LifeEventKind.MOVE_OUT)
    person.status = PersonStatus.MOVED_OUT
    person.status_date = date
    person.save(change_note="迁出 move out")
    Tenancy.objects.filter(tenant=person, end_date__isnull=True).update(end_date=date)
    event = _event(LifeEventKind.MOVE_OUT, date, area=person.area, person=person, household=household, place=place,
                   note=note)  # fmt: skip
    if household is not None:
        _dissolve_if_empty(household, date)
    return event


@transaction.atomic
def split_household(household: Household, *, members: dict[Person, str], new_number: str, date: dt.date,
                    house=None, note: str = "") -> Household:  # fmt: skip
    """分户: some members leave to form a new household; ``members`` maps each to its new relation.

    Exactly one of them must get relation 02 (head). The old household keeps its head.
    """
    if not members:
        raise RegistryError(gettext("请选择分出的成员 (choose the members who split off)"))
    heads = [p for p, rel in members.items() if rel == HEAD_RELATION]
    if len(heads) != 1:
        raise RegistryError(gettext("新户须有且只有一名户主 (the new household needs exactly one head)"))
    current = {m.person_id: m for m in household.memberships.filter(end_date__isnull=True)}
    for person in members:
        if person.pk not in current:
            raise RegistryError(
                gettext("%(name)s 不是该户现有成员 (not a current member)") % {"name": person.name}
            )
        if current[person.pk].relation == HEAD_RELATION:
            raise RegistryError(
                gettext("原户主不能分出，请先变更户主 (the head cannot split off; change the head first)")
            )
    if len(members) == len(current):
        raise RegistryError(gettext("不能把全部成员分出 (cannot split off every member)"))
    new = Household(number=new_number, area=household.area, house=house or household.house,
                    household_type=household.household_type, registered_address=household.registered_address)  # fmt: skip
    new.full_clean()
    new.save(change_note="分户 split")
    for person, relation in members.items():
        _end(current[person.pk], date, LifeEventKind.SPLIT)
        Membership(household=new, person=person, relation=relation, start_date=date).save()
        if house is not None and person.house_id != house.pk:
            person.house = house
            person.save(change_note="分户 split")
    _event(LifeEventKind.SPLIT, date, area=household.area, household=household, other=new, note=note)
    return new


@transaction.atomic
def merge_households(source: Household, target: Household, *, relations: dict[Person, str], date: dt.date,
                     note: str = "") -> Household:  # fmt: skip
    """合户: every member of ``source`` joins ``target`` with the given relation; ``source`` is dissolved."""
    if source.pk == target.pk:
        raise RegistryError(gettext("不能与本户合户 (cannot merge a household into itself)"))
    if target.status != HouseholdStatus.ACTIVE or source.status != HouseholdStatus.ACTIVE:
        raise RegistryError(gettext("只能合并在册的户 (both households must be active)"))
    current = list(source.memberships.filter(end_date__isnull=True).select_related("person"))
    missing = [m.person.name for m in current if m.person not in relations]
    if missing:
        raise RegistryError(
            gettext("请为这些成员指定与新户主的关系 (relation needed): %(join)s")
            % {"join": "、".join(missing)}
        )
    if any(rel == HEAD_RELATION for rel in relations.values()):
        raise RegistryError(gettext("目标户已有户主 (the target household keeps its head)"))
    for m in current:
        _end(m, date, LifeEventKind.MERGE)
    for m in current:
        Membership(household=target, person=m.person, relation=relations[m.person], start_date=date).save()
        if target.house_id and m.person.house_id != target.house_id:
            m.person.house_id = target.house_id
            m.person.save(change_note="合户 merge")
    source.status = HouseholdStatus.DISSOLVED
    source.status_date = date
    source.save(change_note="合户注销 merged into " + target.number)
    _event(LifeEventKind.MERGE, date, area=target.area, household=target, other=source, note=note)
    return target


# -- duplicates ---------------------------------------------------------------------------------
def duplicate_candidates(person: Person) -> list[tuple[Person, str]]:
    """Other live records that look like the same human: same ID, or same name + birth date + address."""
    found: dict[int, tuple[Person, str]] = {}
    live = Person.objects.exclude(status=PersonStatus.MERGED).exclude(pk=person.pk)
    if person.id_number_bidx:
        for other in live.filter(id_number_bidx=person.id_number_bidx):
            found[other.pk] = (other, "同一身份证号 same ID number")
    if person.birth_date:
        same = live.filter(name=person.name, birth_date=person.birth_date)
        for other in same:
            same_place = (person.house_id and other.house_id == person.house_id) or (
                person.current_address and other.current_address == person.current_address
            )
            if same_place and other.pk not in found:
                found[other.pk] = (other, "姓名、出生日期、住址相同 same name, birth date and address")
    return list(found.values())


def duplicate_pairs(queryset=None):
    """All suspected duplicate pairs in a queryset, for the review list."""
    from django.db.models import Count

    qs = (queryset if queryset is not None else Person.objects.all()).exclude(status=PersonStatus.MERGED)
    keys = (
        qs.exclude(birth_date__isnull=True)
        .values("name", "birth_date")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .order_by("name")
    )
    for key in keys:
        group = list(qs.filter(name=key["name"], birth_date=key["birth_date"]).order_by("id"))
        for i, first in enumerate(group):
            for second in group[i + 1 :]:
                if (first.house_id and first.house_id == second.house_id) or (
                    first.current_address and first.current_address == second.current_address
                ):
                    yield first, second


MERGE_FILL_FIELDS = ("former_name", "id_number", "phone", "ethnicity", "political_status", "education",
                     "marital_status", "religion", "occupation", "employer", "registered_region",
                     "registered_address", "current_address", "house_id")  # fmt: skip


@transaction.atomic
def merge_persons(keep: Person, duplicate: Person, *, note: str = "") -> Person:
    """Merge ``duplicate`` into ``keep``: links move over, empty fields are filled, nothing is lost.

    The duplicate stays as a record with status ``merged`` pointing at ``keep``; both histories
    record the merge.
    """
    if keep.pk == duplicate.pk:
        raise RegistryError(gettext("不能与自己合并 (cannot merge a record with itself)"))
    if duplicate.status == PersonStatus.MERGED:
        raise RegistryError(gettext("该记录已被合并 (already merged)"))
    if keep.id_number and duplicate.id_number and keep.id_number != duplicate.id_number:
        raise RegistryError(
            gettext("两条记录的身份证号不同，不是同一人 (different ID numbers: not the same person)")
        )
    keep_current = _current_membership(keep)
    for m in duplicate.memberships.all():
        if m.end_date is None and keep_current is not None:
            _end(m, dt.date.today(), LifeEventKind.MERGE)
        else:
            m.person = keep
            m.save(change_note="人员合并 person merge")
    for gm in duplicate.group_memberships.all():
        gm.person = keep
        gm.save(change_note="人员合并 person merge")
    for t in Tenancy.objects.filter(tenant=duplicate):
        t.tenant = keep
        t.save(change_note="人员合并 person merge")
    for t in Tenancy.objects.filter(landlord=duplicate):
        t.landlord = keep
        t.save(change_note="人员合并 person merge")
    for house in duplicate.owned_houses.all():
        house.owner = keep
        house.save(change_note="人员合并 person merge")
    LifeEvent.objects.filter(person=duplicate).update(person=keep)
    person_merged.send(sender=Person, keep=keep, duplicate=duplicate)
    keep.tags.add(*duplicate.tags.all())
    filled = []
    duplicate_id_number = duplicate.id_number
    for field in MERGE_FILL_FIELDS:
        if not getattr(keep, field) and getattr(duplicate, field):
            if field == "id_number":
                continue  # moved below, after the duplicate releases the number
            setattr(keep, field, getattr(duplicate, field))
            filled.append(field)
    duplicate.status = PersonStatus.MERGED
    duplicate.merged_into = keep
    duplicate.status_date = dt.date.today()
    duplicate.save(change_note=f"合并至 merged into #{keep.pk}")
    if not keep.id_number and duplicate_id_number:
        keep.id_number = duplicate_id_number
        filled.append("id_number")
    keep.save(change_note=f"合并 #{duplicate.pk} merged in")
    log_action(keep, ChangeAction.MERGE, note=note or f"合并重复记录 #{duplicate.pk}", post={"merged": duplicate.pk,
               "filled": filled})  # fmt: skip
    log_action(duplicate, ChangeAction.MERGE, note=note or f"并入 #{keep.pk}", post={"merged_into": keep.pk})
    return keep
