from django.db import models

HEAD_RELATION = "02"  # GB/T 4761-2008: 户主
SELF_RELATION = "01"  # GB/T 4761-2008: 本人


class PersonStatus(models.TextChoices):
    ACTIVE = "active", "在册"
    MOVED_OUT = "moved_out", "已迁出"
    DECEASED = "deceased", "已死亡"
    MERGED = "merged", "已合并"


class HouseholdStatus(models.TextChoices):
    ACTIVE = "active", "在册"
    DISSOLVED = "dissolved", "已注销"


class LifeEventKind(models.TextChoices):
    """Mirrors the ``life_event`` code table; the registry's services depend on these values."""

    BIRTH = "birth", "出生"
    DEATH = "death", "死亡"
    MOVE_IN = "move_in", "迁入"
    MOVE_OUT = "move_out", "迁出"
    SPLIT = "split", "分户"
    MERGE = "merge", "合户"
    MOVE_WITHIN = "move_within", "区内迁移"


class PopulationType(models.TextChoices):
    REGISTERED = "1", "户籍人口"
    FLOATING = "2", "流动人口"
    FOREIGN = "3", "境外人员"
    UNREGISTERED = "4", "未落户人员"


class FieldGroup(models.TextChoices):
    """Sensitivity groups of data; roles are granted the groups they may read."""

    GENERAL = "general", "一般"
    WELFARE = "welfare", "救助"
    DISABILITY = "disability", "残疾"
    HEALTH = "health", "健康"
    SPECIAL = "special", "特殊人群"
    PARTY = "party", "党员"
