"""Every create/edit form gets the bad-input corpus (corpus.py): a clear error naming the field,
nothing saved (row counts before and after), never a 500; markup and SQL kept as text are escaped."""

import datetime as dt
import itertools
from dataclasses import dataclass, field

import pytest
from django.core.cache import cache
from django.test import Client

from linli import robustness
from linli.core.testing import login_as, make_couple_household, make_person, make_user, next_id_number
from linli.registry import services

from .corpus import HARMLESS, REFUSED

pytestmark = pytest.mark.django_db
_n = itertools.count(1)
FUTURE_DT = (dt.datetime.now() + dt.timedelta(days=30)).strftime("%Y-%m-%dT%H:%M")


@dataclass
class FormSpec:
    name: str
    role: str | None  # None: anonymous (the resident portal)
    scope: str  # "grid" | "community" | "district"
    url: object  # callable(objects) -> str
    base: object  # callable(objects) -> dict, a fresh valid submission
    fields: dict[str, list[str]]  # field -> kinds from REFUSED
    harmless: list[str] = field(default_factory=list)  # free-text fields for HARMLESS values
    ok_status: int = 302
    #: "form": the page is rendered again with the form's errors; "messages": a list page's
    #: posted form redirects back with one message per wrong field, named by its label.
    errors_in: str = "form"
    #: For edit forms: the edited object's state, which a refused submission must leave alone.
    state: object = None
    labels: dict[str, str] = field(default_factory=dict)
    #: Short mode only: how many values of each kind to try (None: all). Long mode tries all.
    sample: int | None = None
    #: Posted names that depend on the objects (e.g. "relation_<person id>"): field -> callable(objects).
    names: dict[str, object] = field(default_factory=dict)

    def values(self, kind):
        values = REFUSED[kind]
        return values if robustness.LONG or self.sample is None else values[: self.sample]


def state_of(obj, *fields):
    return type(obj)._base_manager.values_list(*fields).get(pk=obj.pk)


def person_data(o):
    birth = dt.date(1985, 3, 1) + dt.timedelta(days=next(_n))
    return {"area": o["grid"].pk, "name": f"测试{next(_n)}", "id_type": "111", "id_number": next_id_number(birth),
            "birth_date": birth.isoformat(), "sex": "1", "ethnicity": "01", "residence_status": "10",
            "population_type": "1", "phone": "13700001111", "note": ""}  # fmt: skip


def edit_data(o):
    data = person_data(o)
    data.update(name="张三", id_number="", birth_date=o["person"].birth_date.isoformat())
    return data


def event_data(o):
    return {"channel": "hotline", "category": o["category"].pk, "priority": "normal", "title": f"楼道堆物{next(_n)}",
            "location_area": o["grid"].pk, "contact_phone": "13912345678", "description": "", "address": ""}  # fmt: skip


def portal_data(o):
    return {"category": o["category"].pk, "location_area": o["grid"].pk, "address": "1栋1单元101",
            "title": f"夜间噪音{next(_n)}", "description": "每天夜里仍有很大噪音", "contact_name": "赵女士",
            "contact_phone": "13912345678"}  # fmt: skip


SPECS = [
    FormSpec(
        "registry.person_add",
        "community_staff",
        "community",
        lambda o: "/registry/persons/new/",
        person_data,
        {
            "id_number": ["id_number"],
            "birth_date": ["date", "past_date"],
            "phone": ["phone"],
            "name": ["text", "short_text", "required_text"],
            "area": ["pk"],
            "sex": ["choice"],
            "ethnicity": ["choice"],
            "inflow_date": ["date"],
        },
        harmless=["name", "note", "current_address"],
    ),  # fmt: skip
    FormSpec(
        "registry.person_edit",
        "community_staff",
        "community",
        lambda o: f"/registry/persons/{o['person'].pk}/edit/",
        edit_data,
        {
            "id_number": ["id_number"],
            "phone": ["phone"],
            "name": ["text", "short_text", "required_text"],
            "area": ["pk"],
            "residence_status": ["choice"],
        },
        harmless=["name", "note"],
        state=lambda o: state_of(o["person"], "name", "phone_masked", "area_id", "version"),
    ),  # fmt: skip
    FormSpec(
        "registry.person_move_out",
        "community_staff",
        "community",
        lambda o: f"/registry/persons/{o['mover'].pk}/move-out/",
        lambda o: {"date": "2026-10-01", "place": "湖北省孝感市"},
        {"date": ["date", "required_text"], "place": ["text", "short_text"]},
    ),  # fmt: skip
    FormSpec(
        "registry.person_reveal",
        "community_staff",
        "community",
        lambda o: f"/registry/persons/{o['person'].pk}/reveal/",
        lambda o: {"purpose": "办理低保复核核对身份"},
        {"purpose": ["required_text", "text", "short_text"]},
        ok_status=200,
    ),  # fmt: skip
    FormSpec(
        "events.add",
        "community_leader",
        "community",
        lambda o: "/events/new/",
        event_data,
        {
            "title": ["required_text", "text", "short_text"],
            "contact_phone": ["phone"],
            "category": ["pk"],
            "location_area": ["pk"],
            "priority": ["choice"],
            "channel": ["choice"],
        },
        harmless=["title", "description", "address"],
    ),  # fmt: skip
    FormSpec(
        "events.portal_submit",
        None,
        "grid",
        lambda o: "/portal/",
        portal_data,
        {
            "title": ["required_text", "text", "short_text"],
            "contact_phone": ["phone"],
            "category": ["pk"],
            "location_area": ["pk"],
            "description": ["required_text", "text"],
        },
        harmless=["title", "description"],
    ),  # fmt: skip
    FormSpec(
        "grid.diary_add",
        "grid_worker",
        "grid",
        lambda o: "/grid/diary/new/",
        lambda o: {
            "area": o["grid"].pk,
            "date": (dt.date(2026, 1, 1) + dt.timedelta(days=next(_n))).isoformat(),
            "content": "走访 3 户",
            "concerns": "",
        },
        {"date": ["date", "past_date"], "content": ["required_text", "text"], "area": ["pk"]},
        harmless=["content"],
    ),  # fmt: skip
    FormSpec(
        "accounts.user_create",
        "admin",
        "district",
        lambda o: "/manage/users/new/",
        lambda o: {
            "username": f"user{next(_n)}",
            "full_name": "王五",
            "phone": "13700002222",
            "password1": "Linli#robust2026",
            "password2": "Linli#robust2026",
        },
        {
            "username": ["text", "short_text", "required_text"],
            "phone": ["phone"],
            "full_name": ["text", "short_text", "required_text"],
        },
        harmless=["full_name"],
    ),  # fmt: skip
    FormSpec(
        "registry.person_death",
        "community_staff",
        "community",
        lambda o: f"/registry/persons/{o['dying'].pk}/death/",
        lambda o: {"date": "2026-10-01", "note": ""},
        {"date": ["date", "past_date", "required_text"], "note": ["text"]},
    ),  # fmt: skip
    FormSpec(
        "accounts.user_edit",
        "admin",
        "district",
        lambda o: f"/manage/users/{o['managed'].pk}/edit/",
        lambda o: {"full_name": "赵六改", "phone": "13700003333", "email": "zhao@example.cn"},
        {"full_name": ["text", "short_text", "required_text"], "phone": ["phone"], "email": ["email"]},
        harmless=["full_name"],
        state=lambda o: state_of(o["managed"], "full_name", "phone", "email"),
    ),  # fmt: skip
    FormSpec(
        "grid.check_in",
        "grid_worker",
        "grid",
        lambda o: "/grid/patrols/check-in/",
        lambda o: {"grid": o["grid"].pk, "route": "1栋到3栋", "lat": "30.5", "lng": "114.2"},
        {"grid": ["pk"], "route": ["text", "short_text"], "lat": ["number"], "lng": ["number"]},
        errors_in="messages",
        labels={"grid": "网格", "route": "巡查路线", "lat": "纬度", "lng": "经度"},
    ),  # fmt: skip
]


def household_data(o):
    return {"area": o["grid"].pk, "number": f"4201059{next(_n):05d}", "household_type": "1", "house": "",
            "registered_address": "湖北省武汉市汉阳区", "note": ""}  # fmt: skip


def birth_data(o):
    data = person_data(o)
    data.update(birth_date=(dt.date.today() - dt.timedelta(days=30)).isoformat(), relation="20")
    data["id_number"] = next_id_number(dt.date.fromisoformat(data["birth_date"]))
    return data


def split_data(o):
    member = o["family_member"].pk
    return {"number": f"4201058{next(_n):05d}", "date": "2026-10-01", f"member_{member}": "1",
            f"relation_{member}": "02"}  # fmt: skip


def merge_data(o):
    relations = {f"relation_{m.person_id}": "20" for m in o["household"].current_members()}
    return {"target": o["other_household"].number, "date": "2026-10-01", "note": "", **relations}


def duty_data(o):
    start = dt.datetime(2026, 3, 2, 8, 0) + dt.timedelta(days=next(_n))
    return {"area": o["community"].pk, "kind": "duty", "user": "", "volunteer_name": "志愿者李", "place": "邻里值班室",
            "starts_at": start.strftime("%Y-%m-%dT%H:%M"), "ends_at": (start + dt.timedelta(hours=8)).strftime("%Y-%m-%dT%H:%M"),
            "duty_phone": "", "note": ""}  # fmt: skip


SPECS += [
    FormSpec(
        "registry.household_add",
        "community_staff",
        "community",
        lambda o: "/registry/households/new/",
        household_data,
        {
            "number": ["required_text", "text", "short_text"],
            "area": ["pk"],
            "house": ["pk"],
            "household_type": ["choice"],
            "registered_address": ["text", "short_text"],
        },
        harmless=["registered_address", "note"],
        sample=2,
    ),  # fmt: skip
    FormSpec(
        "registry.household_edit",
        "community_staff",
        "community",
        lambda o: f"/registry/households/{o['household'].pk}/edit/",
        lambda o: {**household_data(o), "number": o["household"].number},
        {
            "number": ["required_text", "text", "short_text"],
            "area": ["pk"],
            "household_type": ["choice"],
            "registered_address": ["text", "short_text"],
        },
        harmless=["note"],
        state=lambda o: state_of(
            o["household"], "number", "area_id", "registered_address", "note", "version"
        ),
        sample=2,
    ),  # fmt: skip
    FormSpec(
        "registry.household_birth",
        "community_staff",
        "community",
        lambda o: f"/registry/households/{o['household'].pk}/birth/",
        birth_data,
        {
            "id_number": ["id_number"],
            "birth_date": ["date", "past_date"],
            "name": ["text", "short_text", "required_text"],
            "relation": ["choice"],
            "area": ["pk"],
        },
        harmless=["name"],
        sample=2,
    ),  # fmt: skip
    FormSpec(
        "registry.household_split",
        "community_staff",
        "community",
        lambda o: f"/registry/households/{o['household'].pk}/split/",
        split_data,
        {
            "number": ["required_text", "text", "short_text"],
            "date": ["date", "past_date", "required_text"],
            "relation": ["choice"],
        },
        errors_in="page",
        names={"relation": lambda o: f"relation_{o['family_member'].pk}"},
        labels={"number": "新户号", "date": "分户日期", "relation": "在新户中的关系"},
        state=lambda o: state_of(o["household"], "status", "version"),
        sample=2,
    ),  # fmt: skip
    FormSpec(
        "registry.household_merge",
        "community_staff",
        "community",
        lambda o: f"/registry/households/{o['household'].pk}/merge/",
        merge_data,
        {
            "target": ["required_text", "text", "short_text"],
            "date": ["date", "past_date", "required_text"],
            "note": ["text", "short_text"],
            "relation": ["choice"],
        },
        errors_in="page",
        names={"relation": lambda o: f"relation_{o['family_member'].pk}"},
        labels={"target": "并入户号", "date": "合户日期", "note": "说明", "relation": "与新户主的关系"},
        state=lambda o: state_of(o["household"], "status", "version"),
        sample=2,
    ),  # fmt: skip
    FormSpec(
        "grid.duty_add",
        "community_leader",
        "community",
        lambda o: "/grid/duty/new/",
        duty_data,
        {
            "area": ["pk"],
            "kind": ["choice"],
            "user": ["pk"],
            "starts_at": ["date", "required_text"],
            "ends_at": ["date"],
            "place": ["text", "short_text"],
            "duty_phone": ["phone"],
            "volunteer_name": ["text", "short_text"],
        },
        errors_in="messages",
        labels={
            "area": "所属区域",
            "kind": "班次",
            "user": "值班人员",
            "starts_at": "开始时间",
            "ends_at": "结束时间",
            "place": "地点",
            "duty_phone": "值班电话",
            "volunteer_name": "值班人 (非系统用户)",
        },  # fmt: skip
        sample=2,
    ),  # fmt: skip
    FormSpec(
        "accounts.token_issue",
        "admin",
        "district",
        lambda o: f"/manage/users/{o['managed'].pk}/tokens/issue/",
        lambda o: {"name": f"接口对接{next(_n)}", "expires_at": FUTURE_DT},
        {"name": ["required_text", "text", "short_text"], "expires_at": ["date"]},
        errors_in="messages",
        labels={"name": "用途", "expires_at": "过期时间"},
        sample=2,
    ),  # fmt: skip
    FormSpec(
        "grid.diary_grade",
        "community_leader",
        "community",
        lambda o: f"/grid/diary/{o['diary'].pk}/grade/",
        lambda o: {"grade": "good", "comment": "记录详实"},
        {"grade": ["choice", "required_text"], "comment": ["text", "short_text"]},
        errors_in="messages",
        labels={"grade": "评定等级", "comment": "评语"},
        state=lambda o: state_of(o["diary"], "grade", "grade_comment"),
        sample=2,
    ),  # fmt: skip
    FormSpec(
        "events.reject",
        "community_leader",
        "community",
        lambda o: f"/events/{o['event'].pk}/act/",
        lambda o: {"action": "reject", "note": "不属于受理范围"},
        {"note": ["required_text", "text"], "until": ["date"], "satisfaction": ["choice"], "to_area": ["pk"]},
        errors_in="messages",
        labels={"note": "意见/理由", "until": "延期至", "satisfaction": "评价", "to_area": "派遣至区域"},
        state=lambda o: state_of(o["event"], "status", "version"),
        sample=2,
    ),  # fmt: skip
    FormSpec(
        "events.dispatch",
        "community_leader",
        "community",
        lambda o: f"/events/{o['accepted'].pk}/act/",
        lambda o: {"action": "dispatch", "to_area": o["grid"].pk, "note": ""},
        {"to_area": ["pk"], "to_department": ["pk"], "note": ["text"], "review_date": ["date"]},
        errors_in="messages",
        labels={
            "to_area": "派遣至区域",
            "to_department": "派遣至职能部门",
            "note": "意见/理由",
            "review_date": "复核日期",
        },
        state=lambda o: state_of(o["accepted"], "status", "version"),
        sample=2,
    ),  # fmt: skip
    FormSpec(
        "events.request_extension",
        "community_leader",
        "community",
        lambda o: f"/events/{o['handling'].pk}/act/",
        lambda o: {"action": "request_extension", "until": FUTURE_DT, "note": "需协调物业"},
        {"until": ["date", "required_text"], "note": ["required_text", "text"]},
        errors_in="messages",
        labels={"until": "延期至", "note": "意见/理由"},
        state=lambda o: state_of(o["handling"], "status", "version"),
        sample=2,
    ),  # fmt: skip
    FormSpec(
        "events.feed_back",
        "community_leader",
        "community",
        lambda o: f"/events/{o['handling'].pk}/act/",
        lambda o: {"action": "feed_back", "note": "已清理"},
        {"note": ["required_text", "text"], "satisfaction": ["choice"]},
        errors_in="messages",
        labels={"note": "意见/理由", "satisfaction": "评价"},
        state=lambda o: state_of(o["handling"], "status", "version"),
        sample=2,
    ),  # fmt: skip
]


def counts(spec=None, objects=None):
    from linli.accounts.models import ApiToken, User
    from linli.audit.models import AuditEvent
    from linli.core.models import ObjectChange
    from linli.events.models import Event, EventStep
    from linli.grid.models import DiaryEntry, DutyShift, Patrol
    from linli.registry.models import Household, LifeEvent, Membership, Person

    models = (Person, Household, LifeEvent, Membership, Event, EventStep, DiaryEntry, DutyShift, Patrol, User,
              ApiToken, ObjectChange)  # fmt: skip
    result = {m.__name__: m.objects.count() for m in models}
    result["reveals"] = AuditEvent.objects.filter(event="data.reveal").count()
    if spec is not None and spec.state is not None:
        result["state"] = spec.state(objects)
    return result


def error_fields(response) -> set[str]:
    """Field names with errors in any form the page was rendered with."""
    names = set()
    # One rendered template gives its Context, several a ContextList (widgets render through
    # Jinja2, so a page with a form is often one template).
    contexts = [response.context] if hasattr(response.context, "flatten") else response.context or []
    for ctx in contexts:
        for value in ctx.flatten().values() if hasattr(ctx, "flatten") else []:
            errors = getattr(value, "errors", None)
            if hasattr(value, "fields") and isinstance(errors, dict):
                names |= set(errors)
    return names


@pytest.fixture
def objects(area_tree, media):
    from linli.events import workflow
    from linli.events.loader import load_categories
    from linli.events.models import EventCategory
    from linli.grid.models import DiaryEntry

    load_categories()
    grid = area_tree["grids"][0]
    household = make_couple_household(grid, None)
    worker = make_user(f"gw{next(_n)}", "grid_worker", grid)
    accepted, handling = (
        workflow.report_event(category=EventCategory.objects.get(code="1002"), title=f"占道经营{i}",
                              location_area=where, channel="hotline")
        for i, where in enumerate((area_tree["communities"][0], grid))
    )  # fmt: skip
    workflow.accept(accepted)
    workflow.accept(handling)
    workflow.start(handling)
    return {
        "household": household, "family_member": household.memberships.exclude(relation="02").first().person,
        "diary": DiaryEntry.objects.create(author=worker, area=grid, date=dt.date(2026, 1, 5), content="走访 5 户"),
        "event": workflow.report_event(category=EventCategory.objects.get(code="1002"), title="楼道堆物",
                                       location_area=grid, channel="hotline"),
        "accepted": accepted, "handling": handling,
        "grid": grid, "community": area_tree["communities"][0], "district": area_tree["district"],
        "person": make_person(grid, name="张三", phone="13900001111"),
        "mover": make_person(grid, name="迁出者"), "category": EventCategory.objects.get(code="1002"),
        "dying": make_person(grid, name="病故者"),
        "other_household": services.create_household(number="420105000456", head=make_person(grid, name="王老"),
                                                     date=dt.date(1990, 1, 1)),
        "managed": make_user("managed", "grid_worker", grid, full_name="赵六"),
    }  # fmt: skip


@pytest.mark.parametrize("spec", SPECS, ids=[s.name for s in SPECS])
def test_form_refuses_the_corpus(spec, objects):
    client = (
        Client() if spec.role is None else login_as(make_user(f"u{next(_n)}", spec.role, objects[spec.scope]))
    )
    url = spec.url(objects)
    tried = 0
    for name, kinds in spec.fields.items():
        for kind in kinds:
            for label, value in spec.values(kind):
                cache.clear()  # the portal's per-address submission limit is not what is tested here
                before = counts(spec, objects)
                posted = spec.names[name](objects) if name in spec.names else name
                response = client.post(url, {**spec.base(objects), posted: value})
                tried += 1
                where = f"{spec.name}: {name} = {label} ({value[:30]!r})"
                assert counts(spec, objects) == before, f"{where}: something was saved"
                if spec.errors_in == "page":
                    assert response.status_code == 200, f"{where}: answered {response.status_code}"
                    shown = [str(m) for m in response.context["error"] or []]
                    assert any(m.startswith(spec.labels[name]) for m in shown), f"{where}: errors {shown}"
                    continue
                if spec.errors_in == "messages":
                    assert response.status_code == 302, f"{where}: answered {response.status_code}"
                    shown = [str(m) for m in client.get(response["Location"]).context["messages"]]
                    assert any(m.startswith(spec.labels[name]) for m in shown), f"{where}: messages {shown}"
                    continue
                assert response.status_code in (200, 400), f"{where}: answered {response.status_code}"
                fields = error_fields(response)
                assert name in fields or (fields and "__all__" in fields), (
                    f"{where}: no error on the field ({fields})"
                )
    for name in spec.harmless:
        for label, value in HARMLESS:
            cache.clear()
            response = client.post(url, {**spec.base(objects), name: value}, follow=True)
            tried += 1
            assert response.status_code < 500, f"{spec.name}: {name} = {label}"
            assert "<script>alert(" not in response.content.decode(), (
                f"{spec.name}: {name} rendered raw markup"
            )
    cache.clear()
    before = counts(spec, objects)
    control = client.post(url, spec.base(objects))
    if spec.errors_in == "messages":
        shown = list(client.get(control["Location"]).context["messages"])
        assert not any(m.level_tag == "error" for m in shown), f"{spec.name}: {[str(m) for m in shown]}"
    assert control.status_code == spec.ok_status, (
        f"{spec.name}: the valid submission failed {error_fields(control)}"
    )
    assert counts(spec, objects) != before, f"{spec.name}: the valid submission saved nothing"
    robustness.tally("forms", spec.name, tried)
