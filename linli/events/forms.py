"""Event forms: staff entry, workflow actions, filters, the resident portal."""

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from linli.areas.models import Area

from . import attachments as attachment_files
from .choices import EventChannel, EventStatus, HandlingLevel, Priority, Satisfaction
from .models import Department, EventCategory

MAX_FILES = 5


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class PhotosField(forms.FileField):
    """Up to five photos or PDFs, each checked by magic bytes (linli/events/attachments.py)."""

    widget = MultipleFileInput(attrs={"accept": "image/jpeg,image/png,image/webp,application/pdf"})

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("label", "照片/附件")
        super().__init__(**kwargs)

    def clean(self, data, initial=None):
        files = [f for f in (data if isinstance(data, list | tuple) else [data]) if f]
        if len(files) > MAX_FILES:
            raise ValidationError(
                gettext("最多上传 %(MAX_FILES)s 个文件 (at most %(MAX_FILES)s files)")
                % {"MAX_FILES": MAX_FILES}
            )
        errors = []
        for upload in files:
            try:
                attachment_files.validate_upload(upload)
            except ValidationError as exc:
                errors += [f"{getattr(upload, 'name', '')}: {m}" for m in exc.messages]
        if errors:
            raise ValidationError(errors)
        return files


def category_choices(public_only: bool = False):
    qs = EventCategory.objects.filter(active=True).select_related("parent").order_by("code")
    if public_only:
        qs = qs.filter(public=True)
    parents = set(qs.exclude(parent=None).values_list("parent_id", flat=True))
    return [
        (c.pk, f"{c.code} {c.parent.name + ' / ' if c.parent_id else ''}{c.name}")
        for c in qs
        if c.pk not in parents
    ]


class Styled:
    """Tabler classes on every widget (no template tags needed)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            widget = field.widget
            if isinstance(widget, forms.HiddenInput | forms.RadioSelect):
                continue
            css = "form-select" if isinstance(widget, forms.Select) else "form-control"
            widget.attrs["class"] = f"{css} {widget.attrs.get('class', '')}".strip()


class AreaChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return obj.full_name if hasattr(obj, "full_name") else str(obj)


class EventForm(Styled, forms.Form):
    """Staff entry: hotline, service hall, a grid worker's own report."""

    channel = forms.ChoiceField(
        label=_("来源渠道"), choices=EventChannel.choices, initial=EventChannel.HOTLINE
    )
    category = forms.TypedChoiceField(label=_("事件类别"), coerce=int)
    priority = forms.ChoiceField(label=_("紧急程度"), choices=Priority.choices, initial=Priority.NORMAL)
    title = forms.CharField(label=_("标题"), max_length=200)
    description = forms.CharField(label=_("内容"), widget=forms.Textarea(attrs={"rows": 4}), required=False)
    location_area = AreaChoiceField(label=_("发生区域"), queryset=Area.objects.all())
    address = forms.CharField(label=_("地址"), max_length=300, required=False)
    contact_name = forms.CharField(label=_("联系人"), max_length=50, required=False)
    contact_phone = forms.CharField(label=_("联系电话"), max_length=20, required=False)
    photos = PhotosField()

    def __init__(self, *args, areas=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].choices = category_choices()
        if areas is not None:
            self.fields["location_area"].queryset = areas

    def clean_category(self):
        return EventCategory.objects.get(pk=self.cleaned_data["category"])


class FilterForm(Styled, forms.Form):
    CARD_CHOICES = [
        ("", _("全部")),
        ("yellow", _("黄牌预警")),
        ("red", _("红牌超期")),
        ("overdue", _("已超期")),
    ]

    q = forms.CharField(label=_("编号/标题"), required=False)
    status = forms.ChoiceField(label=_("状态"), choices=[("", _("全部")), ("open", _("未办结")), *EventStatus.choices],
                               required=False)  # fmt: skip
    category = forms.CharField(label=_("类别编码"), required=False)
    priority = forms.ChoiceField(
        label=_("紧急程度"), choices=[("", _("全部")), *Priority.choices], required=False
    )
    card = forms.ChoiceField(label=_("红黄牌"), choices=CARD_CHOICES, required=False)
    channel = forms.ChoiceField(
        label=_("渠道"), choices=[("", _("全部")), *EventChannel.choices], required=False
    )
    area = forms.ModelChoiceField(label=_("发生区域"), queryset=Area.objects.none(), required=False)
    level = forms.ChoiceField(
        label=_("处置层级"), choices=[("", _("全部")), *HandlingLevel.choices], required=False
    )


class ActionForm(Styled, forms.Form):
    """One form for every workflow button; the view takes the fields the action needs."""

    action = forms.CharField(widget=forms.HiddenInput)
    note = forms.CharField(label=_("意见/理由"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    to_area = forms.ModelChoiceField(label=_("派遣至区域"), queryset=Area.objects.all(), required=False)
    to_department = forms.ModelChoiceField(label=_("派遣至职能部门"), queryset=Department.objects.filter(active=True),
                                           required=False)  # fmt: skip
    until = forms.DateTimeField(label=_("延期至"), required=False,
                                widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))  # fmt: skip
    review_date = forms.DateField(
        label=_("复核日期"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    satisfaction = forms.TypedChoiceField(label=_("评价"), choices=[("", "—"), *Satisfaction.choices], coerce=int,
                                          required=False, empty_value=None)  # fmt: skip
    photos = PhotosField()


# -- resident portal -------------------------------------------------------------------------------
class PortalReportForm(Styled, forms.Form):
    category = forms.TypedChoiceField(label=_("问题类别"), coerce=int)
    location_area = AreaChoiceField(label=_("所在社区/网格"), queryset=Area.objects.none())
    address = forms.CharField(label=_("具体位置"), max_length=300)
    title = forms.CharField(label=_("标题"), max_length=60)
    description = forms.CharField(
        label=_("问题描述"), max_length=2000, widget=forms.Textarea(attrs={"rows": 4})
    )
    contact_name = forms.CharField(label=_("称呼"), max_length=50, required=False)
    contact_phone = forms.CharField(label=_("联系电话 (选填)"), max_length=20, required=False)
    photos = PhotosField(label=_("照片 (选填，最多5张)"))
    # A field people do not see: bots fill it in.
    website = forms.CharField(required=False, widget=forms.TextInput(attrs={"class": "d-none", "tabindex": "-1",
                                                                          "autocomplete": "off"}))  # fmt: skip

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].choices = category_choices(public_only=True)
        self.fields["location_area"].queryset = Area.objects.filter(level__in=["community", "grid"]).order_by(
            "path"
        )

    def clean_category(self):
        category = EventCategory.objects.filter(
            pk=self.cleaned_data["category"], public=True, active=True
        ).first()
        if category is None:
            raise ValidationError(gettext("请选择问题类别 (choose a category)"))
        return category

    def clean_website(self):
        if self.cleaned_data.get("website"):
            raise ValidationError(gettext("提交失败 (rejected)"))
        return ""


class TrackForm(Styled, forms.Form):
    number = forms.CharField(label=_("受理编号"), max_length=20)
    code = forms.CharField(label=_("查询码"), max_length=20)


class PortalRateForm(Styled, forms.Form):
    number = forms.CharField(widget=forms.HiddenInput)
    code = forms.CharField(widget=forms.HiddenInput)
    satisfaction = forms.TypedChoiceField(label=_("您对办理结果是否满意"), choices=Satisfaction.choices, coerce=int,
                                          widget=forms.RadioSelect)  # fmt: skip
    comment = forms.CharField(
        label=_("意见"), max_length=500, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
