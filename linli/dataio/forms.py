from django import forms
from django.utils.translation import gettext_lazy as _

from linli.areas.choices import AreaLevel
from linli.areas.models import Area
from linli.core import permissions
from linli.core.scope import paths_q

from .persons import SPECS


class UploadForm(forms.Form):
    kind = forms.ChoiceField(label=_("导入内容"), choices=[(k, _(s.title)) for k, s in SPECS.items()])
    file = forms.FileField(label=_("文件（.xlsx 或 .csv）"), allow_empty_file=True)
    area = forms.ModelChoiceField(
        label=_("导入到"), queryset=Area.objects.none(), required=False, empty_label=_("我的全部管辖范围"),
        help_text=_("可选：限定在一个街道、社区或网格内；网格名称按此范围识别"),
    )  # fmt: skip

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        paths = permissions.scope_paths(user, "registry.import_person")
        areas = Area.objects.none()
        if paths:
            areas = (
                Area.objects.filter(paths_q(paths, field="path"))
                .exclude(level=AreaLevel.DISTRICT)
                .order_by("path")
            )
        self.fields["area"].queryset = areas
        self.fields["area"].label_from_instance = lambda a: "\u3000" * max(a.depth - 2, 0) + a.name
        self.fields["file"].widget.attrs["accept"] = ".xlsx,.csv"


class RevealForm(forms.Form):
    purpose = forms.CharField(
        label=_("查看事由"), min_length=4, max_length=300,
        help_text=_("将记入审计日志，如“民政部门低保年审核对身份证号”"),
        widget=forms.TextInput(attrs={"class": "form-control", "autocomplete": "off"}),
    )  # fmt: skip
    format = forms.ChoiceField(
        label=_("格式"), choices=[("xlsx", "Excel (.xlsx)"), ("csv", "CSV")], initial="xlsx"
    )
