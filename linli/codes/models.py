from django.db import models
from django.utils.translation import gettext_lazy as _


class CodeTable(models.Model):
    """A code table such as GB/T 2261.1 sex or GB/T 4761 family relation, in one version."""

    key = models.SlugField(max_length=48, unique=True, help_text="Stable name used by CodeField(table=…)")
    name = models.CharField(_("名称"), max_length=100)
    name_en = models.CharField("English name", max_length=100, blank=True)
    standard = models.CharField(_("依据标准"), max_length=100, blank=True, help_text="e.g. GB/T 2261.1-2003")
    version = models.CharField(_("版本"), max_length=32, blank=True)
    editable = models.BooleanField(_("可由管理员编辑"), default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["key"]
        verbose_name = _("代码表 code table")
        verbose_name_plural = _("代码表 code tables")

    def __str__(self):
        return f"{self.name} ({self.standard or self.key})"


class Code(models.Model):
    """One entry of a code table. Retired entries stay (old records keep their meaning)."""

    table = models.ForeignKey(CodeTable, on_delete=models.CASCADE, related_name="codes")
    code = models.CharField(_("代码"), max_length=16)
    name = models.CharField(_("名称"), max_length=100)
    name_en = models.CharField("English name", max_length=100, blank=True)
    parent_code = models.CharField(_("上级代码"), max_length=16, blank=True)
    sort = models.PositiveIntegerField(default=0)
    active = models.BooleanField(_("有效"), default=True)

    class Meta:
        ordering = ["table", "sort", "code"]
        constraints = [models.UniqueConstraint(fields=["table", "code"], name="codes_code_unique_per_table")]
        verbose_name = _("代码 code")
        verbose_name_plural = _("代码 codes")

    def __str__(self):
        return f"{self.code} {self.name}"
