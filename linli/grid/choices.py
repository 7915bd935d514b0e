from django.db import models


class GridRole(models.TextChoices):
    RESPONSIBLE = "responsible", "专职网格员 (网格长)"
    DEPUTY = "deputy", "兼职网格员/协管员"


class ContactRole(models.TextChoices):
    HEAD = "head", "楼栋长"
    INFORMANT = "informant", "信息员"


class VisitKind(models.TextChoices):
    DOOR = "door", "入户走访"
    PHONE = "phone", "电话联系"
    OUTSIDE = "outside", "户外约见"


class VisitOutcome(models.TextChoices):
    MET = "met", "见到住户"
    NOBODY = "nobody", "无人在家"
    REFUSED = "refused", "拒绝接待"


class DiaryGrade(models.TextChoices):
    EXCELLENT = "excellent", "优秀"
    GOOD = "good", "良好"
    PASS = "pass", "合格"
    FAIL = "fail", "不合格"


class DutyKind(models.TextChoices):
    DUTY = "duty", "值班"
    LEADER = "leader", "带班领导"
    NIGHT = "night", "夜间值守"
