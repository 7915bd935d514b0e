import datetime as dt

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from linli.areas.choices import AreaLevel
from linli.areas.models import Area
from linli.codes import lookup
from linli.core.validators import parse_phone
from linli.events.forms import PhotosField, Styled, category_choices
from linli.events.models import EventCategory
from linli.registry.models import Person

from .choices import DiaryGrade, GridRole, VisitKind, VisitOutcome
from .models import DiaryEntry, DutyShift


class GridChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return obj.full_name


def grid_queryset():
    return Area.objects.filter(level=AreaLevel.GRID, active=True).order_by("path")


class AssignForm(Styled, forms.Form):
    grid = GridChoiceField(label=_("网格"), queryset=grid_queryset())
    user = forms.ModelChoiceField(label=_("网格员"), queryset=None)
    role = forms.ChoiceField(label=_("职责"), choices=GridRole.choices)
    start_date = forms.DateField(label=_("起始日期"), initial=dt.date.today,
                                 widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))  # fmt: skip
    note = forms.CharField(label=_("备注"), max_length=200, required=False)

    def __init__(self, *args, users, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = users
        self.fields["user"].label_from_instance = lambda u: f"{u.full_name or u.username} ({u.username})"


class VisitForm(Styled, forms.Form):
    visited_on = forms.DateField(label=_("走访日期"), initial=dt.date.today,
                                 widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))  # fmt: skip
    kind = forms.ChoiceField(label=_("方式"), choices=VisitKind.choices)
    outcome = forms.ChoiceField(label=_("结果"), choices=VisitOutcome.choices)
    met = forms.ModelMultipleChoiceField(label=_("见到的人"), queryset=Person.objects.none(), required=False,
                                         widget=forms.CheckboxSelectMultiple)  # fmt: skip
    findings = forms.CharField(label=_("了解情况"), max_length=4000, required=False,
                               widget=forms.Textarea(attrs={"rows": 3}))  # fmt: skip
    follow_up = forms.CharField(label=_("需跟进事项"), max_length=2000, required=False,
                                widget=forms.Textarea(attrs={"rows": 2}))  # fmt: skip
    follow_up_due = forms.DateField(label=_("跟进期限"), required=False,
                                    widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))  # fmt: skip
    photos = PhotosField(label=_("照片"), required=False)
    raise_event = forms.BooleanField(label=_("同时上报事件"), required=False)
    event_category = forms.TypedChoiceField(label=_("事件类别"), required=False, coerce=int, empty_value=None)
    event_title = forms.CharField(label=_("事件标题"), max_length=200, required=False)

    def __init__(self, *args, household, **kwargs):
        super().__init__(*args, **kwargs)
        self.members = list(
            Person.objects.filter(
                memberships__household=household, memberships__end_date__isnull=True
            ).order_by("memberships__relation", "pk")
        )
        self.fields["met"].queryset = Person.objects.filter(pk__in=[p.pk for p in self.members])
        self.fields["met"].label_from_instance = lambda p: p.name
        self.fields["event_category"].choices = [("", "---------"), *category_choices()]
        statuses = [("", _("不变"))] + list(lookup.choices("residence_status"))
        for person in self.members:
            self.fields[f"residence_status_{person.pk}"] = forms.ChoiceField(
                label=_("%(name)s 人户状态") % {"name": person.name}, choices=statuses, required=False
            )
            self.fields[f"phone_{person.pk}"] = forms.CharField(
                label=_("%(name)s 新联系电话") % {"name": person.name}, max_length=20, required=False,
                help_text=_("留空表示不变"),
            )  # fmt: skip
            self.fields[f"residence_status_{person.pk}"].widget.attrs["class"] = "form-select"
            self.fields[f"phone_{person.pk}"].widget.attrs["class"] = "form-control"

    def member_rows(self):
        return [(p, self[f"residence_status_{p.pk}"], self[f"phone_{p.pk}"]) for p in self.members]

    def clean_visited_on(self):
        value = self.cleaned_data["visited_on"]
        if value > timezone.localdate():
            raise forms.ValidationError(_("走访日期不能晚于今天 (the visit date is in the future)"))
        return value

    def clean(self):
        data = super().clean()
        if data.get("raise_event"):
            if not data.get("event_category"):
                self.add_error("event_category", _("上报事件须选择类别 (choose a category)"))
            else:
                data["event_category"] = EventCategory.objects.get(pk=data["event_category"])
            if not (data.get("event_title") or "").strip():
                self.add_error("event_title", _("上报事件须填写标题 (a title is required)"))
        return data

    def person_updates(self) -> dict:
        updates = {}
        for person in self.members:
            changes = {}
            status = self.cleaned_data.get(f"residence_status_{person.pk}")
            phone = (self.cleaned_data.get(f"phone_{person.pk}") or "").strip()
            if status:
                changes["residence_status"] = status
            if phone:
                changes["phone"] = phone
            if changes:
                updates[person] = changes
        return updates


class DiaryForm(Styled, forms.ModelForm):
    area = GridChoiceField(label=_("网格"), queryset=grid_queryset())

    class Meta:
        model = DiaryEntry
        fields = ["area", "date", "content", "concerns"]
        widgets = {
            "date": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "content": forms.Textarea(attrs={"rows": 5}),
            "concerns": forms.Textarea(attrs={"rows": 3}),
        }


class GradeForm(Styled, forms.Form):
    grade = forms.ChoiceField(label=_("评定等级"), choices=DiaryGrade.choices)
    comment = forms.CharField(label=_("评语"), max_length=500, required=False)


class CheckInForm(Styled, forms.Form):
    grid = GridChoiceField(label=_("网格"), queryset=grid_queryset())
    route = forms.CharField(label=_("巡查路线"), max_length=300, required=False)
    lat = forms.DecimalField(label=_("纬度"), max_digits=9, decimal_places=6, required=False, min_value=-90,
                             max_value=90, widget=forms.HiddenInput)  # fmt: skip
    lng = forms.DecimalField(label=_("经度"), max_digits=9, decimal_places=6, required=False, min_value=-180,
                             max_value=180, widget=forms.HiddenInput)  # fmt: skip


class CheckOutForm(Styled, forms.Form):
    findings = forms.CharField(label=_("发现情况"), max_length=4000, required=False,
                               widget=forms.Textarea(attrs={"rows": 3}))  # fmt: skip
    lat = forms.DecimalField(label=_("纬度"), max_digits=9, decimal_places=6, required=False, min_value=-90,
                             max_value=90, widget=forms.HiddenInput)  # fmt: skip
    lng = forms.DecimalField(label=_("经度"), max_digits=9, decimal_places=6, required=False, min_value=-180,
                             max_value=180, widget=forms.HiddenInput)  # fmt: skip


class DutyShiftForm(Styled, forms.ModelForm):
    class Meta:
        model = DutyShift
        fields = [
            "area",
            "kind",
            "user",
            "volunteer_name",
            "starts_at",
            "ends_at",
            "place",
            "duty_phone",
            "note",
        ]
        widgets = {
            "starts_at": forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
            "ends_at": forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        }

    def __init__(self, *args, users=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["area"].label_from_instance = lambda a: a.full_name
        if users is not None:
            self.fields["user"].queryset = users
        self.fields["user"].label_from_instance = lambda u: f"{u.full_name or u.username}"

    def clean_duty_phone(self):
        """Checked like residents' phones (any text was kept; robustness suite)."""
        phone = self.cleaned_data.get("duty_phone", "")
        return parse_phone(phone) if phone else ""


class PeriodForm(Styled, forms.Form):
    area = forms.ModelChoiceField(label=_("区域"), queryset=Area.objects.none(), required=False)
    start = forms.DateField(
        label=_("开始日期"), required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    end = forms.DateField(
        label=_("结束日期"), required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )

    def __init__(self, *args, areas, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["area"].queryset = areas
        self.fields["area"].label_from_instance = lambda a: a.full_name

    def clean(self):
        data = super().clean()
        if data.get("start") and data.get("end") and data["end"] < data["start"]:
            raise forms.ValidationError(_("结束日期不能早于开始日期 (the period ends before it starts)"))
        if data.get("start") and data.get("end") and (data["end"] - data["start"]).days > 3660:
            raise forms.ValidationError(_("统计期间不能超过十年 (the period is longer than ten years)"))
        return data
