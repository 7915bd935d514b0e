from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from treebeard.mp_tree import MP_Node

from linli.core.fields import CodeField
from linli.core.history import ChangeLoggedModel, ScopedRecord
from linli.core.scope import path_range_q

from . import gridcode
from .choices import CHILD_LEVEL, CODE_LENGTH, AreaLevel


class Area(MP_Node, ChangeLoggedModel):
    """A node of the administrative and grid tree: 区/县 → 街道/乡镇 → 社区/村 → 网格.

    ``path`` (django-treebeard materialised path) is what scoped rows copy into their
    ``area_path``, so "everything below this node" is one index range.
    """

    level = models.CharField(_("层级"), max_length=16, choices=AreaLevel.choices)
    name = models.CharField(_("名称"), max_length=100)
    code = models.CharField(
        _("区划代码"),
        max_length=12,
        blank=True,
        help_text=_("GB/T 2260 (6 位) / 统计用区划代码 (9 或 12 位)；网格留空"),
    )
    grid_number = models.PositiveSmallIntegerField(_("网格序号"), null=True, blank=True)
    grid_code = models.CharField(
        _("网格编码"), max_length=32, blank=True, help_text=_("CJ/T 349-2010 或本地编码规则")
    )
    boundary = models.JSONField(_("边界 (GeoJSON)"), null=True, blank=True)
    centre_lat = models.DecimalField(_("中心纬度"), max_digits=9, decimal_places=6, null=True, blank=True)
    centre_lng = models.DecimalField(_("中心经度"), max_digits=9, decimal_places=6, null=True, blank=True)
    active = models.BooleanField(_("有效"), default=True)

    node_order_by = None
    # treebeard's bookkeeping columns change whenever siblings are added; the path is what matters.
    history_exclude = ("depth", "numchild")

    class Meta:
        verbose_name = _("区域 area")
        verbose_name_plural = _("区域 areas")
        constraints = [
            models.UniqueConstraint(
                fields=["code"], condition=~models.Q(code=""), name="areas_area_code_unique"
            ),
            models.UniqueConstraint(
                fields=["grid_code"], condition=~models.Q(grid_code=""), name="areas_area_grid_code_unique"
            ),
        ]

    def __str__(self):
        return self.name

    # -- tree helpers -------------------------------------------------------------------------
    def subtree_q(self, field: str = "area_path") -> models.Q:
        return path_range_q(self.path, field)

    def ancestors_and_self(self) -> list["Area"]:
        return [*Area.objects.get_ancestors(self), self]

    @property
    def full_name(self) -> str:
        return "".join(a.name for a in self.ancestors_and_self())

    def add_area(self, **kwargs) -> "Area":
        """Add a child of the level that belongs below this one (validated)."""
        expected = CHILD_LEVEL.get(self.level)
        if expected is None:
            raise ValidationError(
                gettext("网格下不能再建下级区域 (a grid has no child areas)"), code="area_level"
            )
        kwargs.setdefault("level", expected)
        child = Area(**kwargs)
        child._parent_for_validation = self
        child.full_clean(exclude=["path", "depth", "numchild"])
        return Area.objects.add_child(self, instance=child)

    def clean(self):
        parent = getattr(self, "_parent_for_validation", None) or (
            Area.objects.get_parent(self) if self.pk and self.depth > 1 else None
        )
        if parent is not None and CHILD_LEVEL.get(parent.level) != self.level:
            raise ValidationError(
                {
                    "level": gettext("%(parent_level)s下应为%(child_level)s层级")
                    % {
                        "parent_level": parent.get_level_display(),
                        "child_level": CHILD_LEVEL.get(parent.level, "—"),
                    }
                }
            )
        length = CODE_LENGTH.get(self.level)
        if length and self.code:
            if len(self.code) != length or not self.code.isdigit():
                raise ValidationError(
                    {
                        "code": gettext("%(level)s代码应为 %(length)s 位数字 (digits)")
                        % {"level": self.get_level_display(), "length": length}
                    }
                )
            if parent is not None and parent.code and not self.code.startswith(parent.code):
                raise ValidationError(
                    {
                        "code": gettext("代码应以上级代码 %(code)s 开头 (must start with the parent code)")
                        % {"code": parent.code}
                    }
                )
        if self.level == AreaLevel.GRID:
            if parent is not None and self.grid_number and not self.grid_code and parent.code:
                self.grid_code = gridcode.build_cjt349(parent.code, self.grid_number)
            if self.grid_code:
                try:
                    gridcode.validate_grid_code(self.grid_code, parent.code if parent is not None else "")
                except ValidationError as exc:
                    raise ValidationError({"grid_code": exc.messages}) from None
        if self.boundary is not None:
            validate_polygon(self.boundary)


def validate_polygon(geojson) -> None:
    """A GeoJSON Polygon or MultiPolygon with closed rings of [lng, lat] pairs."""
    kind = geojson.get("type") if isinstance(geojson, dict) else None
    if kind not in {"Polygon", "MultiPolygon"}:
        raise ValidationError({"boundary": gettext("边界应为 GeoJSON Polygon 或 MultiPolygon")})
    polygons = geojson.get("coordinates") or []
    if kind == "Polygon":
        polygons = [polygons]
    for polygon in polygons:
        for ring in polygon:
            if len(ring) < 4 or ring[0] != ring[-1]:
                raise ValidationError(
                    {"boundary": gettext("边界的每个环至少 4 个点且首尾相同 (rings must be closed)")}
                )
            for point in ring:
                if len(point) < 2 or not (-180 <= point[0] <= 180 and -90 <= point[1] <= 90):
                    raise ValidationError(
                        {"boundary": gettext("坐标 %(point)s 超出经纬度范围") % {"point": point}}
                    )


class Building(ScopedRecord):
    """A building (楼栋) in a grid."""

    BUILDING_TYPES = [("residential", _("住宅")), ("mixed", _("商住")), ("commercial", _("商业")), ("office", _("办公")),
                      ("bungalow", _("平房")), ("other", _("其他"))]  # fmt: skip

    name = models.CharField(_("楼栋"), max_length=50, help_text=_("如 3栋"))
    street_address = models.CharField(
        _("门牌地址"), max_length=200, blank=True, help_text=_("路/街 + 门牌号")
    )
    building_type = models.CharField(_("类型"), max_length=16, choices=BUILDING_TYPES, default="residential")
    floors = models.PositiveSmallIntegerField(_("层数"), null=True, blank=True)
    built_year = models.PositiveSmallIntegerField(_("建成年份"), null=True, blank=True)
    property_company = models.CharField(_("物业公司"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("楼栋 building")
        verbose_name_plural = _("楼栋 buildings")
        ordering = ["area_path", "name"]

    def __str__(self):
        return f"{self.street_address} {self.name}".strip()


class Unit(ScopedRecord):
    """A stairwell unit (单元) of a building."""

    building = models.ForeignKey(
        Building, on_delete=models.PROTECT, related_name="units", verbose_name=_("楼栋")
    )
    name = models.CharField(_("单元"), max_length=20, help_text=_("如 2单元"))

    class Meta:
        verbose_name = _("单元 unit")
        verbose_name_plural = _("单元 units")
        ordering = ["building", "name"]
        constraints = [models.UniqueConstraint(fields=["building", "name"], name="areas_unit_unique_name")]

    def __str__(self):
        return f"{self.building.name}{self.name}"


class House(ScopedRecord):
    """A house or room (房屋): the place households live and tenants rent."""

    building = models.ForeignKey(
        Building,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="houses",
        verbose_name=_("楼栋"),
    )
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, null=True, blank=True, related_name="houses",
                             verbose_name=_("单元"))  # fmt: skip
    room = models.CharField(_("室号"), max_length=20, blank=True, help_text=_("如 501"))
    floor = models.SmallIntegerField(_("楼层"), null=True, blank=True)
    address = models.CharField(_("地址"), max_length=300, db_index=True, help_text=_("完整地址，自动生成"))
    room_key = models.CharField(_("房号检索键"), max_length=60, blank=True, db_index=True, editable=False)
    floor_area = models.DecimalField(_("建筑面积 m²"), max_digits=8, decimal_places=2, null=True, blank=True)
    use = CodeField(_("用途"), table="house_use", default="10")
    owner = models.ForeignKey(
        "registry.Person", on_delete=models.SET_NULL, null=True, blank=True, related_name="owned_houses",
        verbose_name=_("产权人"),
    )  # fmt: skip
    owner_name = models.CharField(
        _("产权人姓名"), max_length=100, blank=True, help_text=_("产权人不在本系统登记时填写")
    )
    note = models.TextField(_("备注"), blank=True)

    class Meta:
        verbose_name = _("房屋 house")
        verbose_name_plural = _("房屋 houses")
        ordering = ["area_path", "address"]

    def __str__(self):
        return self.address

    def compose_address(self) -> str:
        parts = []
        if self.building_id:
            parts += [self.building.street_address, self.building.name]
        if self.unit_id:
            parts.append(self.unit.name)
        if self.room:
            parts.append(f"{self.room}室")
        return " ".join(p for p in parts if p)

    def compose_room_key(self) -> str:
        """``3栋 2单元 501`` → ``3-2-501``: what a worker types to find a room."""
        numbers = []
        for text in (
            self.building.name if self.building_id else "",
            self.unit.name if self.unit_id else "",
            self.room,
        ):
            digits = "".join(ch for ch in text if ch.isalnum() and ch.isascii())
            if digits:
                numbers.append(digits)
        return "-".join(numbers)

    def save(self, *args, **kwargs):
        if not self.address:
            self.address = self.compose_address()
        self.room_key = self.compose_room_key()
        super().save(*args, **kwargs)


def picker_areas(tops: list[str], selected_path: str | None = None) -> list[Area]:
    """The areas an area filter offers, by path: the scope's top nodes (``tops``, the collapsed
    paths of the user's grants), the path from its top down to the selected area, and the children
    of every node on that path — one level at a time, like the area tree.

    Listing every area of the scope made a sub-district user's select the costliest part of a list
    page (about 120 options, 17 ms of 70 at 1M residents). Any area in scope stays a valid filter
    value (the area tree links to grids directly); only the offered options are bounded.
    """
    if not tops:
        return []
    expanded = set(tops)
    top = next((t for t in tops if selected_path and selected_path.startswith(t)), None)
    if top is not None:
        expanded |= {selected_path[:n] for n in range(len(top), len(selected_path) + 1, Area.steplen)}
    wanted = models.Q(path__in=expanded)
    for path in expanded:
        wanted |= models.Q(path__startswith=path, depth=len(path) // Area.steplen + 1)
    return list(Area.objects.filter(wanted).only("name", "path", "depth").order_by("path"))
