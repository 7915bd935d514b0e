from django.db import models
from django.utils.translation import gettext_lazy as _

HEAD_RELATION = "02"  # GB/T 4761-2008: 户主
SELF_RELATION = "01"  # GB/T 4761-2008: 本人


class PersonStatus(models.TextChoices):
    ACTIVE = "active", _("在册")
    MOVED_OUT = "moved_out", _("已迁出")
    DECEASED = "deceased", _("已死亡")
    MERGED = "merged", _("已合并")


class HouseholdStatus(models.TextChoices):
    ACTIVE = "active", _("在册")
    DISSOLVED = "dissolved", _("已注销")


class LifeEventKind(models.TextChoices):
    """Mirrors the ``life_event`` code table; the registry's services depend on these values."""

    BIRTH = "birth", _("出生")
    DEATH = "death", _("死亡")
    MOVE_IN = "move_in", _("迁入")
    MOVE_OUT = "move_out", _("迁出")
    SPLIT = "split", _("分户")
    MERGE = "merge", _("合户")
    MOVE_WITHIN = "move_within", _("区内迁移")


class PopulationType(models.TextChoices):
    REGISTERED = "1", _("户籍人口")
    FLOATING = "2", _("流动人口")
    FOREIGN = "3", _("境外人员")
    UNREGISTERED = "4", _("未落户人员")


class FieldGroup(models.TextChoices):
    """Sensitivity groups of data; roles are granted the groups they may read."""

    GENERAL = "general", _("一般")
    WELFARE = "welfare", _("救助")
    DISABILITY = "disability", _("残疾")
    HEALTH = "health", _("健康")
    SPECIAL = "special", _("特殊人群")
    PARTY = "party", _("党员")
