"""The one registry: a person is entered once and every line of work uses the same record."""

import datetime as dt

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from linli.core.crypto import keyring
from linli.core.fields import CodeField, EncryptedTextField, PathField
from linli.core.history import ChangeLoggedModel, ScopedRecord, ScopedRecordQuerySet, check_deletable
from linli.core.scope import ScopedQuerySet
from linli.core.validators import (
    mask_id_number,
    mask_phone,
    normalize_id_number,
    normalize_phone,
    parse_id_number,
    parse_phone,
)

from .choices import HEAD_RELATION, FieldGroup, HouseholdStatus, LifeEventKind, PersonStatus
from .naming import name_keys, pinyin_columns

ID_TAILS = (4, 5, 6)


def blind(purpose: str, value: str) -> str:
    return keyring().blind_index(purpose, value) if value else ""


# Only the 4-character tails have an index of their own: every index is written on each of a
# million inserts, and a 4-character tail already narrows a district to ~100 candidates, which
# the longer tail's or the full phone's blind value then filters (a row check each, no index).
def id_tail_q(tail: str) -> models.Q:
    """Persons whose normalised ID number ends with ``tail`` (4–6 characters)."""
    q = models.Q(id_tail4_bidx=blind("id_tail4", tail[-4:]))
    if len(tail) > 4:
        q &= models.Q(**{f"id_tail{len(tail)}_bidx": blind(f"id_tail{len(tail)}", tail)})
    return q


def phone_tail_q(tail: str) -> models.Q:
    """Persons whose phone number ends with the last four characters of ``tail``."""
    return models.Q(phone_tail4_bidx=blind("phone_tail4", tail[-4:]))


def phone_q(phone: str) -> models.Q:
    """Persons with this (normalised) phone number."""
    return phone_tail_q(phone) & models.Q(phone_bidx=blind("phone", phone))


def add_years(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def age_on(birth: dt.date | None, when: dt.date) -> int | None:
    if birth is None:
        return None
    return when.year - birth.year - ((when.month, when.day) < (birth.month, birth.day))


class PersonQuerySet(ScopedRecordQuerySet):
    def current(self):
        return self.filter(status=PersonStatus.ACTIVE)

    def aged(self, minimum: int | None = None, maximum: int | None = None, on: dt.date | None = None):
        """People aged ``minimum``..``maximum`` (inclusive) on ``on``: computed, never stored."""
        on = on or dt.date.today()
        q = Q()
        if minimum is not None:
            q &= Q(birth_date__lte=add_years(on, -minimum))
        if maximum is not None:
            q &= Q(birth_date__gt=add_years(on, -(maximum + 1)))
        return self.filter(q)

    def with_id_number(self, number: str):
        return self.filter(id_number_bidx=blind("id", normalize_id_number(number)))

    def with_id_tail(self, tail: str):
        tail = normalize_id_number(tail)
        if len(tail) not in ID_TAILS:
            return self.none()
        return self.filter(id_tail_q(tail))

    def with_phone(self, phone: str):
        return self.filter(phone_q(normalize_phone(phone)))

    def with_phone_tail(self, tail: str):
        return self.filter(phone_tail_q(tail))


def choice_label(choices: type[models.Choices], value: str) -> str:
    """``get_FOO_display`` for list pages: it hashes every choice on each call (a list page
    renders 50 rows); an enum lookup does not."""
    try:
        return str(choices(value).label)
    except ValueError:
        return value


class Person(ScopedRecord):
    """A resident (实有人口), with fields after GB/T 31000-2015 and MZ/T 090-2017.

    ID and phone numbers are encrypted; their masked forms and keyed blind indexes sit beside
    them so that lists, exact search and tail search never decrypt. Birth date and sex are
    derived from the ID number whenever there is one.
    """

    permanent = True

    history_exclude = ("pinyin", "pinyin_initials", "pinyin_keys", "name_keys", "id_number_masked", "id_number_bidx",
                       "id_tail4_bidx", "id_tail5_bidx", "id_tail6_bidx", "phone_masked", "phone_bidx",
                       "phone_tail4_bidx", "version", "updated_at")  # fmt: skip

    # identity
    name = models.CharField(_("姓名"), max_length=50)
    former_name = models.CharField(_("曾用名"), max_length=50, blank=True)
    pinyin = models.CharField(_("拼音"), max_length=100, blank=True, editable=False)
    pinyin_initials = models.CharField(_("拼音首字母"), max_length=20, blank=True, editable=False)
    pinyin_keys = models.TextField(_("拼音检索键"), blank=True, editable=False)
    # Every suffix of the name and the former name (" 王建国 建国 国 "): a substring of either is a
    # word prefix here, which a trigram index finds even for two characters (see search.py).
    name_keys = models.TextField(_("姓名检索键"), blank=True, editable=False)
    id_type = CodeField(_("证件类型"), table="id_type", default="111")
    id_number = EncryptedTextField(_("证件号码"), aad="person.id_number")
    id_number_masked = models.CharField(max_length=24, blank=True, editable=False)
    id_number_bidx = models.CharField(max_length=32, blank=True, editable=False)
    id_tail4_bidx = models.CharField(max_length=32, blank=True, editable=False)
    id_tail5_bidx = models.CharField(max_length=32, blank=True, editable=False)
    id_tail6_bidx = models.CharField(max_length=32, blank=True, editable=False)
    birth_date = models.DateField(_("出生日期"), null=True, blank=True, db_index=True)
    sex = CodeField(_("性别"), table="sex", max_length=1)
    ethnicity = CodeField(_("民族"), table="ethnicity", max_length=2, default="01")
    nationality = models.CharField(
        _("国籍"), max_length=3, default="CHN", help_text=_("GB/T 2659 三位字母代码")
    )
    political_status = CodeField(_("政治面貌"), table="political_status", max_length=2)
    education = CodeField(_("学历"), table="education", max_length=2)
    marital_status = CodeField(_("婚姻状况"), table="marital_status", max_length=2)
    religion = CodeField(_("宗教信仰"), table="religion", max_length=2)
    occupation = models.CharField(_("职业"), max_length=100, blank=True)
    employer = models.CharField(_("工作单位"), max_length=200, blank=True)
    phone = EncryptedTextField(_("联系电话"), aad="person.phone")
    phone_masked = models.CharField(max_length=20, blank=True, editable=False)
    phone_bidx = models.CharField(max_length=32, blank=True, editable=False)
    phone_tail4_bidx = models.CharField(max_length=32, blank=True, editable=False)

    # residence
    registered_region = CodeField(_("户籍地区划"), table="region", max_length=6)
    registered_address = models.CharField(_("户籍地详址"), max_length=300, blank=True)
    house = models.ForeignKey(
        "areas.House", on_delete=models.SET_NULL, null=True, blank=True, related_name="residents",
        verbose_name=_("现住房屋"),
    )  # fmt: skip
    current_address = models.CharField(_("现住地详址"), max_length=300, blank=True)
    residence_status = CodeField(_("人户状态"), table="residence_status", max_length=2, default="10")
    population_type = CodeField(_("人口类型"), table="population_type", max_length=1, default="1")

    # floating population (流动人口)
    inflow_reason = CodeField(_("流入原因"), table="inflow_reason", max_length=2)
    inflow_date = models.DateField(_("流入日期"), null=True, blank=True)
    origin_region = CodeField(_("来源地区划"), table="region", max_length=6)
    origin_address = models.CharField(_("来源地详址"), max_length=300, blank=True)
    residence_permit_type = CodeField(_("居住证类型"), table="residence_permit_type", max_length=1)
    residence_permit_expiry = models.DateField(_("居住证有效期至"), null=True, blank=True)

    # record state
    status = models.CharField(
        _("状态"), max_length=16, choices=PersonStatus.choices, default=PersonStatus.ACTIVE
    )
    status_date = models.DateField(_("状态日期"), null=True, blank=True)
    merged_into = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                                    verbose_name=_("合并至"))  # fmt: skip
    tags = models.ManyToManyField("Tag", blank=True, related_name="persons", verbose_name=_("标签"))
    note = models.TextField(_("备注"), blank=True)
    version = models.PositiveIntegerField(default=1, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = PersonQuerySet.as_manager()

    class Meta:
        verbose_name = _("人员 person")
        verbose_name_plural = _("人员 persons")
        ordering = ["area_path", "pinyin", "id"]  # the key breaks ties: pages neither repeat nor skip
        constraints = [
            # One person, one record: an ID number may belong to one live record only.
            models.UniqueConstraint(
                fields=["id_number_bidx"],
                condition=~Q(id_number_bidx="") & ~Q(status="merged"),
                name="registry_person_one_record_per_id",
                violation_error_code="id_registered",
                violation_error_message="该身份证号已登记在另一条人员记录中，请搜索后编辑或合并 "
                "(this ID number is already registered to another person)",
            ),
        ]
        indexes = [
            # Blind indexes are only ever compared for equality: one plain B-tree each, without
            # the varchar_pattern_ops twin that db_index=True adds on PostgreSQL for LIKE. The
            # longer ID tails and the full phone are found through the 4-character tails
            # (id_tail_q, phone_q).
            models.Index(fields=["id_number_bidx"], name="registry_person_id_bidx"),
            models.Index(fields=["id_tail4_bidx"], name="registry_person_id_tail4_bidx"),
            models.Index(fields=["phone_tail4_bidx"], name="registry_person_phone_t4_bidx"),
            # Name and pinyin are searched by prefix (LIKE 'zh%'): one pattern-ops index each, which
            # also answers equality; ordering and equality on the name use name_birth, the lists'
            # order path_pinyin. (db_index=True would add a second, plain B-tree to each.)
            models.Index(
                fields=["name"], name="registry_person_name_prefix", opclasses=["varchar_pattern_ops"]
            ),
            models.Index(
                fields=["pinyin"], name="registry_person_pinyin_prefix", opclasses=["varchar_pattern_ops"]
            ),
            models.Index(
                fields=["pinyin_initials"],
                name="registry_person_initial_prefix",
                opclasses=["varchar_pattern_ops"],
            ),
            models.Index(fields=["name", "birth_date"], name="registry_person_name_birth"),
            # The lists' default order within a scope, with the key: a page's keys are read
            # index-only (linli.core.pagination.page_rows), page 20 as cheaply as page 1. The
            # columns the list filters test most ride along (PostgreSQL INCLUDE), so a filtered
            # page and its count ("women 60+") are index-only reads as well.
            models.Index(
                fields=["area_path", "pinyin", "id"],
                include=["sex", "birth_date", "status", "population_type", "residence_status"],
                name="registry_person_path_pinyin",
            ),
        ]

    def __str__(self):
        return self.name

    @property
    def status_label(self) -> str:
        return choice_label(PersonStatus, self.status)

    # -- derived values -----------------------------------------------------------------------
    def derive(self) -> None:
        """Recompute every derived column. Called by save() and by bulk paths before writing."""
        self.pinyin, self.pinyin_initials, self.pinyin_keys = pinyin_columns(self.name)
        self.name_keys = name_keys(self.name, self.former_name)
        number = normalize_id_number(self.id_number)
        self.id_number = number
        self.id_number_masked = mask_id_number(number)
        self.id_number_bidx = blind("id", number)
        for n in ID_TAILS:
            setattr(self, f"id_tail{n}_bidx", blind(f"id_tail{n}", number[-n:]) if len(number) >= n else "")
        if self.id_type == "111" and number and not (self.birth_date and self.sex):
            try:
                info = parse_id_number(number)
            except ValidationError:
                pass  # reported by clean(); derive() must not raise in bulk paths
            else:
                self.birth_date = self.birth_date or info.birth_date
                self.sex = self.sex or info.sex
        phone = normalize_phone(self.phone) if self.phone else ""
        self.phone = phone
        self.phone_masked = mask_phone(phone)
        self.phone_bidx = blind("phone", phone)
        self.phone_tail4_bidx = blind("phone_tail4", phone[-4:]) if len(phone) >= 4 else ""

    def clean(self):
        errors = {}
        number = normalize_id_number(self.id_number)
        if number and self.id_type == "111":
            try:
                info = parse_id_number(number)
            except ValidationError as exc:
                errors["id_number"] = exc.messages
            else:
                if self.birth_date and self.birth_date != info.birth_date:
                    errors["birth_date"] = [
                        f"出生日期 {self.birth_date:%Y-%m-%d} 与身份证号中的 {info.birth_date:%Y-%m-%d} 不一致 "
                        "(birth date disagrees with the ID number)"
                    ]
                if self.sex and self.sex != info.sex:
                    errors["sex"] = ["性别与身份证号第 17 位不一致 (sex disagrees with the ID number)"]
        if self.phone:
            try:
                self.phone = parse_phone(self.phone)
            except ValidationError as exc:
                errors["phone"] = exc.messages
        if self.birth_date and self.birth_date > dt.date.today():
            errors["birth_date"] = ["出生日期不能晚于今天 (birth date is in the future)"]
        if errors:
            raise ValidationError(errors)
        # Derived columns now, so that full_clean()'s constraint check sees the ID's blind index
        # and a second live record with the same ID is a form error, not a database error.
        self.derive()

    def save(self, *args, **kwargs):
        self.derive()
        if self.pk:
            self.version += 1
        super().save(*args, **kwargs)

    # -- convenience --------------------------------------------------------------------------
    def age(self, on: dt.date | None = None) -> int | None:
        return age_on(self.birth_date, on or dt.date.today())

    @property
    def current_membership(self):
        return self.memberships.filter(end_date__isnull=True).select_related("household").first()

    def groups_on(self, when: dt.date | None = None):
        """Typed group memberships in force on a date, plus age-derived classes."""
        from .groups import derived_groups

        when = when or dt.date.today()
        stored = [
            m.group_type
            for m in self.group_memberships.filter(
                Q(start_date__lte=when) | Q(start_date__isnull=True),
                Q(end_date__isnull=True) | Q(end_date__gt=when),
            ).select_related("group_type")
        ]
        return stored + derived_groups(self, when)


class Tag(models.Model):
    name = models.CharField(_("标签"), max_length=30, unique=True)
    color = models.CharField(_("颜色"), max_length=16, default="blue")

    class Meta:
        ordering = ["name"]
        verbose_name = _("标签 tag")
        verbose_name_plural = _("标签 tags")

    def __str__(self):
        return self.name


class HouseholdQuerySet(ScopedRecordQuerySet):
    def current(self):
        return self.filter(status=HouseholdStatus.ACTIVE)

    def with_head(self):
        head = Membership.objects.filter(
            household=models.OuterRef("pk"), relation=HEAD_RELATION, end_date__isnull=True
        ).values("person__name")[:1]
        return self.annotate(head_name=models.Subquery(head))


class Household(ScopedRecord):
    """A household (户): its number, type and members. The head is the member whose relation is 02."""

    permanent = True

    number = models.CharField(_("户号"), max_length=32, unique=True)
    household_type = CodeField(_("户别"), table="household_type", max_length=1, default="1")
    house = models.ForeignKey("areas.House", on_delete=models.SET_NULL, null=True, blank=True,
                              related_name="households", verbose_name=_("住房"))  # fmt: skip
    registered_address = models.CharField(_("户籍地址"), max_length=300, blank=True)
    status = models.CharField(
        _("状态"), max_length=16, choices=HouseholdStatus.choices, default=HouseholdStatus.ACTIVE
    )
    status_date = models.DateField(_("状态日期"), null=True, blank=True)
    note = models.TextField(_("备注"), blank=True)
    version = models.PositiveIntegerField(default=1, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    history_exclude = ("version",)
    objects = HouseholdQuerySet.as_manager()

    class Meta:
        verbose_name = _("户 household")
        verbose_name_plural = _("户 households")
        ordering = ["area_path", "number"]
        # The list order with the key: a page's keys index-only (linli.core.pagination.page_rows).
        indexes = [models.Index(fields=["area_path", "number", "id"], name="registry_household_path_number")]

    def __str__(self):
        return self.number

    @property
    def status_label(self) -> str:
        return choice_label(HouseholdStatus, self.status)

    def save(self, *args, **kwargs):
        if self.pk:
            self.version += 1
        super().save(*args, **kwargs)

    @property
    def head(self) -> "Person | None":
        m = (
            self.memberships.filter(relation=HEAD_RELATION, end_date__isnull=True)
            .select_related("person")
            .first()
        )
        return m.person if m else None

    def current_members(self):
        return (
            self.memberships.filter(end_date__isnull=True).select_related("person").order_by("relation", "id")
        )


class Membership(ChangeLoggedModel):
    """A person's membership of a household over time, with the GB/T 4761 relation to the head."""

    permanent = True

    household = models.ForeignKey(
        Household, on_delete=models.PROTECT, related_name="memberships", verbose_name=_("户")
    )
    person = models.ForeignKey(
        Person, on_delete=models.PROTECT, related_name="memberships", verbose_name=_("人员")
    )
    relation = CodeField(_("与户主关系"), table="relation", max_length=2)
    start_date = models.DateField(_("起始日期"), null=True, blank=True)
    end_date = models.DateField(_("终止日期"), null=True, blank=True)
    end_reason = models.CharField(_("终止原因"), max_length=16, choices=LifeEventKind.choices, blank=True)

    class Meta:
        verbose_name = _("户成员 membership")
        verbose_name_plural = _("户成员 memberships")
        constraints = [
            models.UniqueConstraint(
                fields=["person"], condition=Q(end_date__isnull=True), name="registry_membership_one_current"
            ),
            models.UniqueConstraint(
                fields=["household"],
                condition=Q(end_date__isnull=True, relation=HEAD_RELATION),
                name="registry_membership_one_head",
            ),
        ]

    def __str__(self):
        return f"{self.person} ∈ {self.household}"


class GroupType(models.Model):
    """A special group or ledger (低保, 残疾人, 高龄老人 …) whose members are sub-records of persons.

    ``detail_schema`` lists the typed fields a membership carries, e.g.
    ``[{"name": "grade", "label": "残疾等级", "type": "code", "table": "disability_grade", "required": true}]``.
    A group with ``min_age`` is *derived*: membership is computed from the birth date and never stored.
    """

    key = models.SlugField(max_length=48, unique=True)
    name = models.CharField(_("名称"), max_length=50)
    name_en = models.CharField("English name", max_length=80, blank=True)
    line = models.CharField(
        _("条线"), max_length=16, help_text=_("民政/残联/老龄/劳动/综治/退役军人/卫健/计生/党建 …")
    )
    field_group = models.CharField(
        _("数据敏感类别"), max_length=16, choices=FieldGroup.choices, default=FieldGroup.GENERAL
    )
    parent = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="children"
    )
    detail_schema = models.JSONField(_("明细字段"), default=list, blank=True)
    min_age = models.PositiveSmallIntegerField(_("按年龄自动计算：最低年龄"), null=True, blank=True)
    sort = models.PositiveIntegerField(default=0)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["sort", "key"]
        verbose_name = _("人群类别 group type")
        verbose_name_plural = _("人群类别 group types")

    def __str__(self):
        return self.name

    @property
    def is_derived(self) -> bool:
        return self.min_age is not None


class GroupMembership(ScopedRecord):
    """A person's membership of a special group, with dates and typed detail."""

    permanent = True

    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="group_memberships")
    group_type = models.ForeignKey(GroupType, on_delete=models.PROTECT, related_name="memberships",
                                   verbose_name=_("类别"))  # fmt: skip
    start_date = models.DateField(_("开始日期"), null=True, blank=True)
    end_date = models.DateField(_("结束日期"), null=True, blank=True)
    end_reason = models.CharField(_("结束原因"), max_length=200, blank=True)
    detail = models.JSONField(_("明细"), default=dict, blank=True)
    note = models.TextField(_("备注"), blank=True)

    class Meta:
        verbose_name = _("人群登记 group membership")
        verbose_name_plural = _("人群登记 group memberships")
        indexes = [models.Index(fields=["group_type", "area_path"], name="registry_groupm_type_path")]

    def __str__(self):
        return f"{self.person} · {self.group_type}"

    def clean(self):
        from .groups import validate_detail

        if self.group_type_id and self.group_type.is_derived:
            raise ValidationError(
                {
                    "group_type": gettext("“%(name)s”按出生日期自动计算，不能手工登记 (derived from age)")
                    % {"name": self.group_type.name}
                }
            )
        if self.start_date and self.end_date and self.end_date < self.start_date:
            raise ValidationError({"end_date": gettext("结束日期不能早于开始日期 (end before start)")})
        if self.group_type_id:
            self.detail = validate_detail(self.group_type, self.detail)

    def save(self, *args, **kwargs):
        if self.person_id and not self.area_id:
            self.area_id = self.person.area_id
        super().save(*args, **kwargs)


class Tenancy(ScopedRecord):
    """A tenant living in a rented house (出租房屋管理), linked to the landlord."""

    permanent = True

    house = models.ForeignKey(
        "areas.House", on_delete=models.PROTECT, related_name="tenancies", verbose_name=_("房屋")
    )
    tenant = models.ForeignKey(
        Person, on_delete=models.PROTECT, related_name="tenancies", verbose_name=_("承租人")
    )
    landlord = models.ForeignKey(Person, on_delete=models.PROTECT, null=True, blank=True, related_name="lettings",
                                 verbose_name=_("出租人"))  # fmt: skip
    landlord_name = models.CharField(_("出租人姓名"), max_length=100, blank=True)
    start_date = models.DateField(_("起租日期"), null=True, blank=True)
    end_date = models.DateField(_("退租日期"), null=True, blank=True)
    contract_number = models.CharField(_("合同编号"), max_length=50, blank=True)

    class Meta:
        verbose_name = _("租住 tenancy")
        verbose_name_plural = _("租住 tenancies")

    def __str__(self):
        return f"{self.tenant} @ {self.house}"

    def save(self, *args, **kwargs):
        if self.house_id and not self.area_id:
            self.area_id = self.house.area_id
        super().save(*args, **kwargs)


class LifeEvent(models.Model):
    """出生/死亡/迁入/迁出/分户/合户: residents change through dated events, never deletions.

    Append-only: the event is the record of what happened; the changes it made to persons,
    households and memberships are in their own history.
    """

    permanent = True

    kind = models.CharField(_("类型"), max_length=16, choices=LifeEventKind.choices)
    date = models.DateField(_("日期"))
    person = models.ForeignKey(
        Person, on_delete=models.PROTECT, null=True, blank=True, related_name="life_events"
    )
    household = models.ForeignKey(Household, on_delete=models.PROTECT, null=True, blank=True,
                                  related_name="life_events")  # fmt: skip
    other_household = models.ForeignKey(Household, on_delete=models.PROTECT, null=True, blank=True,
                                        related_name="+", help_text=_("分户的新户 / 合户的原户"))  # fmt: skip
    place = models.CharField(_("迁出地/迁入地"), max_length=300, blank=True)
    note = models.TextField(_("说明"), blank=True)
    area = models.ForeignKey("areas.Area", on_delete=models.PROTECT, related_name="+")
    area_path = PathField(db_index=True, editable=False)
    recorded_at = models.DateTimeField(auto_now_add=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    channel = models.CharField(max_length=16, blank=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-date", "-id"]
        verbose_name = _("人口变动 life event")
        verbose_name_plural = _("人口变动 life events")

    def __str__(self):
        return f"{self.get_kind_display()} {self.date}"

    def delete(self, *args, **kwargs):
        check_deletable(type(self))
        return super().delete(*args, **kwargs)
