from django.db import models
from django.utils.translation import gettext_lazy as _


class AreaLevel(models.TextChoices):
    DISTRICT = "district", _("区/县 district")
    SUBDISTRICT = "subdistrict", _("街道/乡镇 sub-district")
    COMMUNITY = "community", _("社区/村 community")
    GRID = "grid", _("网格 grid")


# Which level may sit below which: the tree is strict so that scope and statistics stay simple.
CHILD_LEVEL = {
    AreaLevel.DISTRICT: AreaLevel.SUBDISTRICT,
    AreaLevel.SUBDISTRICT: AreaLevel.COMMUNITY,
    AreaLevel.COMMUNITY: AreaLevel.GRID,
}

# Length of the administrative code at each level: GB/T 2260 (6) extended by the statistics
# division codes (9 for 街道/乡镇, 12 for 社区/村).
CODE_LENGTH = {
    AreaLevel.DISTRICT: 6,
    AreaLevel.SUBDISTRICT: 9,
    AreaLevel.COMMUNITY: 12,
}


class HouseUse(models.TextChoices):
    """Mirrors the ``house_use`` code table; kept as choices because rules depend on the values."""

    OWNER_OCCUPIED = "10", _("自住")
    RENTED = "20", _("出租")
    VACANT = "30", _("空置")
    COMMERCIAL = "40", _("商用")
    OTHER = "90", _("其他")
