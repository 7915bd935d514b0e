"""Registry forms. Encrypted fields are never pre-filled: the page would otherwise carry the
full ID or phone number; an empty input means "keep the stored value"."""

from django import forms
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from linli.areas.models import Area, House
from linli.codes import lookup
from linli.core.fields import CodeField

from .choices import HEAD_RELATION
from .models import Household, Person

SECRET_FIELDS = ("id_number", "phone")


class GridLabels:
    """Grid names repeat across communities (1号网格): label each with its community, one query per form."""

    def __init__(self):
        self._communities = None

    def __call__(self, grid: Area) -> str:
        if self._communities is None:
            self._communities = dict(Area.objects.filter(level="community").values_list("path", "name"))
        return f"{self._communities.get(grid.path[: -Area.steplen], '')} {grid.name}".strip()


class CodeChoicesMixin:
    """Render every CodeField as a select of its code table."""

    def apply_code_choices(self):
        for name, field in self.fields.items():
            model_field = self._meta.model._meta.get_field(name) if name in self._meta.fields else None
            if isinstance(model_field, CodeField):
                blank = [("", "—")] if not field.required else []
                self.fields[name] = forms.ChoiceField(
                    label=field.label,
                    required=field.required,
                    choices=blank + lookup.choices(model_field.table),
                )


class PersonForm(CodeChoicesMixin, forms.ModelForm):
    id_number = forms.CharField(label=_("证件号码"), required=False, max_length=32)
    phone = forms.CharField(label=_("联系电话"), required=False, max_length=20)

    class Meta:
        model = Person
        fields = [
            "area", "name", "former_name", "id_type", "id_number", "birth_date", "sex", "ethnicity",
            "political_status", "education", "marital_status", "religion", "occupation", "employer", "phone",
            "registered_region", "registered_address", "house", "current_address", "residence_status",
            "population_type", "inflow_reason", "inflow_date", "origin_region", "origin_address",
            "residence_permit_type", "residence_permit_expiry", "tags", "note",
        ]  # fmt: skip
        widgets = {
            "birth_date": forms.DateInput(attrs={"type": "date"}),
            "inflow_date": forms.DateInput(attrs={"type": "date"}),
            "residence_permit_expiry": forms.DateInput(attrs={"type": "date"}),
            "note": forms.Textarea(attrs={"rows": 2}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.apply_code_choices()
        self.fields["area"].queryset = Area.objects.filter(level="grid")
        self.fields["area"].label_from_instance = GridLabels()
        self.fields["house"].queryset = House.objects.all()
        self.fields["area"].label = _("所属网格")
        if self.instance.pk:
            for name in SECRET_FIELDS:
                self.initial[name] = ""
                masked = getattr(self.instance, f"{name}_masked")
                if masked:
                    self.fields[name].widget.attrs["placeholder"] = _("%(masked)s（留空则不变）") % {
                        "masked": masked
                    }
        for field in self.fields.values():
            css = "form-select" if isinstance(field.widget, forms.Select) else "form-control"
            field.widget.attrs.setdefault("class", css)

    def clean(self):
        data = super().clean()
        for name in SECRET_FIELDS:
            if not data.get(name) and self.instance.pk:
                data[name] = getattr(self.instance, name)  # keep the stored value
        return data

    def _post_clean(self):
        super()._post_clean()
        # Model.clean() normalises the phone; keep what it decided.
        if self.instance.phone:
            self.cleaned_data["phone"] = self.instance.phone


class HouseholdForm(CodeChoicesMixin, forms.ModelForm):
    class Meta:
        model = Household
        fields = ["area", "number", "household_type", "house", "registered_address", "note"]
        widgets = {"note": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.apply_code_choices()
        self.fields["area"].queryset = Area.objects.filter(level="grid")
        self.fields["area"].label_from_instance = GridLabels()
        for field in self.fields.values():
            css = "form-select" if isinstance(field.widget, forms.Select) else "form-control"
            field.widget.attrs.setdefault("class", css)


class RelationField(forms.ChoiceField):
    """GB/T 4761 relations; choices are read when the form is used, not at import time."""

    def __init__(self, *args, allow_head=False, **kwargs):
        def choices():
            return [(c, label) for c, label in lookup.choices("relation") if allow_head or c != HEAD_RELATION]

        super().__init__(*args, choices=choices, label=kwargs.pop("label", "与户主关系"), **kwargs)


class DatedForm(forms.Form):
    date = forms.DateField(
        label=_("日期"), widget=forms.DateInput(attrs={"type": "date", "class": "form-control"})
    )
    note = forms.CharField(
        label=_("说明"), required=False, widget=forms.TextInput(attrs={"class": "form-control"})
    )


class MoveOutForm(DatedForm):
    # max_length as LifeEvent.place: a longer place was a 500 on PostgreSQL (robustness suite).
    place = forms.CharField(
        label=_("迁往地"),
        required=False,
        max_length=300,
        widget=forms.TextInput(attrs={"class": "form-control"}),
    )
    new_head = forms.ModelChoiceField(
        queryset=Person.objects.none(), required=False, label=_("新户主（户主迁出时）")
    )


class DeathForm(DatedForm):
    new_head = forms.ModelChoiceField(
        queryset=Person.objects.none(), required=False, label=_("新户主（户主死亡时）")
    )


class MoveInForm(DatedForm):
    household = forms.ModelChoiceField(queryset=Household.objects.none(), label=_("迁入户"),
                                       widget=forms.Select(attrs={"class": "form-select"}))  # fmt: skip
    relation = RelationField(allow_head=True, widget=forms.Select(attrs={"class": "form-select"}))
    place = forms.CharField(
        label=_("迁出地"),
        required=False,
        max_length=300,
        widget=forms.TextInput(attrs={"class": "form-control"}),
    )


class RevealForm(forms.Form):
    purpose = forms.CharField(
        label=_("查看目的"), min_length=4, max_length=200,
        widget=forms.TextInput(attrs={"class": "form-control", "placeholder": _("如：办理低保复核，需核对身份证号")}),
    )  # fmt: skip


class SplitForm(forms.Form):
    """分户: the new household's number and the date; the members are chosen on the page."""

    number = forms.CharField(label=_("新户号"), max_length=32)
    date = forms.DateField(label=_("分户日期"))


class HouseholdMergeForm(forms.Form):
    """合户: the household this one joins, by its number inside the user's area, and the date."""

    target = forms.CharField(label=_("并入户号"), max_length=32)
    date = forms.DateField(label=_("合户日期"))
    note = forms.CharField(label=_("说明"), max_length=200, required=False)

    def __init__(self, *args, source, candidates, **kwargs):
        super().__init__(*args, **kwargs)
        self.source, self.candidates = source, candidates

    def clean_target(self):
        number = self.cleaned_data["target"].strip()
        target = self.candidates.filter(number=number).exclude(pk=self.source.pk).first()
        if target is None:
            raise forms.ValidationError(
                gettext(
                    "在您的辖区内没有户号为 %(number)s 的在册户 (no active household with this number in your area)"
                )
                % {"number": number},
                code="unknown_household",
            )
        return target


class MergeForm(forms.Form):
    note = forms.CharField(
        label=_("合并说明"), max_length=200, widget=forms.TextInput(attrs={"class": "form-control"})
    )
