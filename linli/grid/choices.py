from django.db import models
from django.utils.translation import gettext_lazy as _


class GridRole(models.TextChoices):
    RESPONSIBLE = "responsible", _("专职网格员 (网格长)")
    DEPUTY = "deputy", _("兼职网格员/协管员")


class ContactRole(models.TextChoices):
    HEAD = "head", _("楼栋长")
    INFORMANT = "informant", _("信息员")


class VisitKind(models.TextChoices):
    DOOR = "door", _("入户走访")
    PHONE = "phone", _("电话联系")
    OUTSIDE = "outside", _("户外约见")


class VisitOutcome(models.TextChoices):
    MET = "met", _("见到住户")
    NOBODY = "nobody", _("无人在家")
    REFUSED = "refused", _("拒绝接待")


class DiaryGrade(models.TextChoices):
    EXCELLENT = "excellent", _("优秀")
    GOOD = "good", _("良好")
    PASS = "pass", _("合格")
    FAIL = "fail", _("不合格")


class DutyKind(models.TextChoices):
    DUTY = "duty", _("值班")
    LEADER = "leader", _("带班领导")
    NIGHT = "night", _("夜间值守")
