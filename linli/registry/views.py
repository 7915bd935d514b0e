"""Registry pages: lists, details, edits, life events, reveal, duplicates.

Lists and details are the framework's scoped views; the function views below fetch their object
through :func:`scoped` so that anything outside the user's scope is a 404.
"""

from django import forms as django_forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import transaction
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext
from django.views.decorators.http import require_POST

from linli.areas.models import Building, House
from linli.audit import events as audit_events
from linli.audit import record
from linli.codes import lookup
from linli.core import permissions
from linli.core.history import history_of
from linli.core.views import (
    ObjectCreateView,
    ObjectDetailView,
    ObjectListView,
    ObjectUpdateView,
    ensure_in_scope,
    policy,
    require_perm,
)

from . import forms, services
from .choices import HEAD_RELATION, HouseholdStatus, PersonStatus
from .filtersets import BuildingFilterSet, HouseFilterSet, HouseholdFilterSet, PersonFilterSet
from .models import Household, Person


def scoped(model, user, action: str, **lookup):
    """The object if it is in the user's scope for ``action``: 403 without the grant, 404 outside."""
    require_perm(user, permissions.perm_name(model, action))
    queryset = permissions.restrict(model._default_manager.all(), user, action)
    return get_object_or_404(queryset, **lookup)


# -- persons ---------------------------------------------------------------------------------------
LIST_COLUMNS = ("area", "house", "name", "id_number_masked", "sex", "birth_date", "phone_masked", "status")


class PersonListView(ObjectListView):
    model = Person
    filterset_class = PersonFilterSet
    template_name = "registry/person_list.html"

    def get_queryset(self):
        # Only the columns the table shows: a full row is ~40 columns plus the area's boundary
        # GeoJSON, and reading them cost more than rendering the page (docs/performance.md).
        return (
            super()
            .get_queryset()
            .select_related("area", "house")
            .only(*LIST_COLUMNS, "area__name", "house__address")
        )


class PersonDetailView(ObjectDetailView):
    model = Person
    template_name = "registry/person_detail.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        person = self.object
        user = self.request.user
        readable = permissions.field_groups(user, person.area_path)
        memberships = person.group_memberships.select_related("group_type").order_by("-start_date")
        shown = [m for m in memberships if m.group_type.field_group in readable]
        sensitive = [m for m in shown if m.group_type.field_group != "general"]
        if sensitive:
            record(
                audit_events.SENSITIVE_READ,
                obj=person,
                detail={"groups": sorted({m.group_type.key for m in sensitive})},
            )
        context.update(
            membership=person.current_membership,
            group_memberships=shown,
            hidden_groups=len(memberships) - len(shown),
            derived_groups=[g for g in person.groups_on() if g.is_derived],
            tenancies=person.tenancies.select_related("house", "landlord"),
            life_events=person.life_events.all()[:50],
            history=history_of(person).select_related("content_type")[:50],
            duplicates=services.duplicate_candidates(person) if person.status != PersonStatus.MERGED else [],
            can_change=permissions.has_perm(user, "registry.change_person", person),
            can_reveal=permissions.has_perm(user, "registry.reveal_person", person),
            can_lifeevent=permissions.has_perm(user, "registry.lifeevent_person", person),
        )
        return context


class PersonCreateView(ObjectCreateView):
    model = Person
    form_class = forms.PersonForm
    template_name = "registry/form.html"

    def get_success_url(self):
        return reverse("registry:person", args=[self.object.pk])


class PersonUpdateView(ObjectUpdateView):
    model = Person
    form_class = forms.PersonForm
    template_name = "registry/form.html"

    def get_success_url(self):
        return reverse("registry:person", args=[self.object.pk])


@policy("registry.reveal_person")
@login_required
@require_POST
def person_reveal(request, pk):
    """Show the full ID and phone number for a stated purpose; every reveal is audited."""
    person = scoped(Person, request.user, "reveal", pk=pk)
    form = forms.RevealForm(request.POST)
    if not form.is_valid():
        return render(request, "registry/_reveal.html", {"person": person, "form": form}, status=400)
    record(
        audit_events.REVEAL,
        obj=person,
        purpose=form.cleaned_data["purpose"],
        detail={"fields": ["id_number", "phone"]},
    )
    return render(request, "registry/_reveal.html", {"person": person, "revealed": True})


def _life_event_view(request, pk, form_class, action, title):
    person = scoped(Person, request.user, "lifeevent", pk=pk)
    form = form_class(request.POST or None)
    if "new_head" in form.fields:
        membership = person.current_membership
        others = Person.objects.none()
        if membership is not None:
            others = Person.objects.filter(
                memberships__household=membership.household, memberships__end_date__isnull=True
            ).exclude(pk=person.pk)
        form.fields["new_head"].queryset = others
        form.fields["new_head"].widget.attrs["class"] = "form-select"
    if "household" in form.fields:
        form.fields["household"].queryset = permissions.restrict(
            Household.objects.current(), request.user, "change"
        )
    if request.method == "POST" and form.is_valid():
        try:
            with transaction.atomic():
                action(person, form.cleaned_data)
                if person.status == PersonStatus.ACTIVE:
                    person.refresh_from_db()
                    ensure_in_scope(person, request.user, "view")
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, gettext("%(title)s已登记 (recorded)") % {"title": title})
            return redirect("registry:person", pk=person.pk)
    return render(
        request, "registry/form.html", {"form": form, "title": f"{title}：{person.name}", "object": person}
    )


@policy("registry.lifeevent_person")
@login_required
def person_move_out(request, pk):
    def act(person, data):
        services.move_out(
            person, date=data["date"], place=data["place"], new_head=data["new_head"], note=data["note"]
        )

    return _life_event_view(request, pk, forms.MoveOutForm, act, "迁出")


@policy("registry.lifeevent_person")
@login_required
def person_death(request, pk):
    def act(person, data):
        services.record_death(person, date=data["date"], new_head=data["new_head"], note=data["note"])

    return _life_event_view(request, pk, forms.DeathForm, act, "死亡")


@policy("registry.lifeevent_person")
@login_required
def person_move_in(request, pk):
    def act(person, data):
        services.move_in(person, household=data["household"], relation=data["relation"], date=data["date"],
                         place=data["place"], note=data["note"])  # fmt: skip

    return _life_event_view(request, pk, forms.MoveInForm, act, "迁入")


@policy("registry.merge_person")
@login_required
def person_merge(request, pk, other_pk):
    """Review two suspected duplicates side by side and merge the second into the first."""
    keep = scoped(Person, request.user, "merge", pk=pk)
    duplicate = scoped(Person, request.user, "merge", pk=other_pk)
    form = forms.MergeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.merge_persons(keep, duplicate, note=form.cleaned_data["note"])
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, gettext("已合并 (merged)"))
            return redirect("registry:person", pk=keep.pk)
    fields = ["name", "former_name", "id_number_masked", "birth_date", "sex", "phone_masked", "current_address",
              "house", "area", "occupation", "status"]  # fmt: skip
    rows = [(Person._meta.get_field(f).verbose_name, getattr(keep, f), getattr(duplicate, f)) for f in fields]
    return render(
        request, "registry/merge.html", {"keep": keep, "duplicate": duplicate, "rows": rows, "form": form}
    )


@policy("registry.merge_person")
@login_required
def duplicate_list(request):
    require_perm(request.user, "registry.merge_person")
    people = permissions.restrict(Person.objects.all(), request.user, "merge")
    pairs = []
    for pair in services.duplicate_pairs(people):
        pairs.append(pair)
        if len(pairs) >= 200:
            break
    return render(request, "registry/duplicates.html", {"pairs": pairs})


# -- households ------------------------------------------------------------------------------------
class HouseholdListView(ObjectListView):
    model = Household
    filterset_class = HouseholdFilterSet
    template_name = "registry/household_list.html"

    def get_queryset(self):
        return (
            super()
            .get_queryset()
            .with_head()
            .select_related("area", "house")
            .only("area", "house", "number", "status", "area__name", "house__address")
        )


class HouseholdDetailView(ObjectDetailView):
    model = Household
    template_name = "registry/household_detail.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        household = self.object
        context.update(
            members=household.current_members(),
            former_members=household.memberships.filter(end_date__isnull=False).select_related("person"),
            life_events=household.life_events.all()[:50],
            history=history_of(household)[:50],
            can_change=permissions.has_perm(self.request.user, "registry.change_household", household),
            # Door-to-door visits (grid app) shown to those who may see them here.
            can_visit=permissions.has_perm(self.request.user, "grid.add_visit", household),
            visits=(
                household.visits.select_related("visitor").order_by("-visited_on", "-id")[:10]
                if permissions.has_perm(self.request.user, "grid.view_visit", household)
                else None
            ),
        )
        return context


class HouseholdCreateView(ObjectCreateView):
    model = Household
    form_class = forms.HouseholdForm
    template_name = "registry/form.html"

    def get_success_url(self):
        return reverse("registry:household", args=[self.object.pk])


class HouseholdUpdateView(ObjectUpdateView):
    model = Household
    form_class = forms.HouseholdForm
    template_name = "registry/form.html"

    def get_success_url(self):
        return reverse("registry:household", args=[self.object.pk])


@policy("registry.change_household")
@login_required
def household_birth(request, pk):
    household = scoped(Household, request.user, "change", pk=pk)
    require_perm(request.user, "registry.lifeevent_person")
    form = forms.PersonForm(
        request.POST or None, initial={"area": household.area_id, "house": household.house_id}
    )
    form.fields["relation"] = forms.RelationField(widget=forms.forms.Select(attrs={"class": "form-select"}))
    if request.method == "POST" and form.is_valid():
        person = form.save(commit=False)
        try:
            with transaction.atomic():
                services.record_birth(person, household=household, relation=form.cleaned_data["relation"])
                form.save_m2m()
                ensure_in_scope(person, request.user, "view")
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, gettext("出生已登记 (birth recorded)"))
            return redirect("registry:household", pk=household.pk)
    return render(
        request,
        "registry/form.html",
        {"form": form, "title": gettext("出生登记：%(number)s") % {"number": household.number}},
    )


def _form_errors(form) -> list[str]:
    """Each wrong field named in its message ("新户号: …")."""
    return [f"{form.fields[f].label}: {' '.join(e)}" for f, e in form.errors.items()]


def _posted_relation(request, person, label: str, allowed: set[str]) -> tuple[str, str | None]:
    """The relation posted for ``person`` (``relation_<pk>``) and, if it is not allowed, the error."""
    relation = request.POST.get(f"relation_{person.pk}", "")
    if relation in allowed:
        return relation, None
    invalid = django_forms.ChoiceField.default_error_messages["invalid_choice"]
    return relation, f"{label}: {person.name} {invalid % {'value': relation}}"


def _service_errors(exc: ValidationError, form) -> list[str]:
    """A life-event service's refusal; a date in the future is put on the form's date field."""
    dated = getattr(exc, "code", None) == "future_date"
    return [f"{form.fields['date'].label}: {m}" if dated else m for m in exc.messages]


@policy("registry.change_household")
@login_required
def household_split(request, pk):
    household = scoped(Household, request.user, "change", pk=pk)
    require_perm(request.user, "registry.lifeevent_person")
    members = [m for m in household.current_members() if m.relation != HEAD_RELATION]
    error = None
    if request.method == "POST":
        # Nothing is written unless every field is right.
        form = forms.SplitForm(request.POST)
        error = _form_errors(form)
        codes = {code for code, _label in lookup.choices("relation")}
        chosen = {}
        for m in members:
            if request.POST.get(f"member_{m.person_id}"):
                chosen[m.person], wrong = _posted_relation(
                    request, m.person, gettext("在新户中的关系"), codes
                )
                error += [wrong] if wrong else []
        if not error:
            try:
                new = services.split_household(household, members=chosen, date=form.cleaned_data["date"],
                                               new_number=form.cleaned_data["number"])  # fmt: skip
            except ValidationError as exc:
                error = _service_errors(exc, form)
            else:
                messages.success(request, gettext("已分户，新户号 %(number)s") % {"number": new.number})
                return redirect("registry:household", pk=new.pk)

    return render(request, "registry/split.html", {"household": household, "members": members, "error": error,
                                                   "relations": lookup.choices("relation")})  # fmt: skip


@policy("registry.change_household")
@login_required
def household_merge(request, pk):
    """合户: this household's members join another household (with their relation to its head)."""
    source = scoped(Household, request.user, "change", pk=pk)
    require_perm(request.user, "registry.lifeevent_person")
    members = source.current_members()
    candidates = permissions.restrict(
        Household.objects.filter(status=HouseholdStatus.ACTIVE), request.user, "change"
    )
    choices = [(code, label) for code, label in lookup.choices("relation") if code != HEAD_RELATION]
    form = forms.HouseholdMergeForm(request.POST or None, source=source, candidates=candidates)
    error = None
    if request.method == "POST":
        # Nothing is written unless every field is right.
        valid = form.is_valid()
        error = _form_errors(form)
        allowed = {code for code, _label in choices}
        relations = {}
        for m in members:
            relations[m.person], wrong = _posted_relation(
                request, m.person, gettext("与新户主的关系"), allowed
            )
            error += [wrong] if wrong else []
        if valid and not error:
            target = form.cleaned_data["target"]
            try:
                services.merge_households(source, target, relations=relations, date=form.cleaned_data["date"],
                                          note=form.cleaned_data["note"])  # fmt: skip
            except ValidationError as exc:
                error = _service_errors(exc, form)
            else:
                messages.success(
                    request,
                    gettext("已合户：%(source)s 并入 %(target)s")
                    % {"source": source.number, "target": target.number},
                )
                return redirect("registry:household", pk=target.pk)
    return render(request, "registry/merge_household.html",
                  {"household": source, "members": members, "form": form, "error": error,
                   "relations": choices})  # fmt: skip


# -- houses and buildings ----------------------------------------------------------------------------
class HouseListView(ObjectListView):
    model = House
    filterset_class = HouseFilterSet
    template_name = "registry/house_list.html"

    def get_queryset(self):
        return super().get_queryset().select_related("area", "building")


class HouseDetailView(ObjectDetailView):
    model = House
    template_name = "registry/house_detail.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        house = self.object
        user = self.request.user
        context.update(
            residents=permissions.restrict(house.residents.all(), user).defer("id_number", "phone"),
            households=permissions.restrict(house.households.all(), user).with_head(),
            tenancies=permissions.restrict(house.tenancies.all(), user).select_related("tenant", "landlord"),
            history=history_of(house)[:30],
        )
        return context


class BuildingListView(ObjectListView):
    model = Building
    filterset_class = BuildingFilterSet
    template_name = "registry/building_list.html"


class BuildingDetailView(ObjectDetailView):
    model = Building
    template_name = "registry/building_detail.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["houses"] = permissions.restrict(self.object.houses.all(), self.request.user).order_by(
            "room_key"
        )
        return context
