"""Resolve what a ledger names — a grid, a house — to rows inside the importer's scope.

Grids are few (a sub-district has hundreds, a city some thousands), so they are read once per
run; houses are many, so they are looked up once per chunk of rows with one query. A value that only matches outside the
importer's scope is reported as such, never silently attached elsewhere.
"""

from dataclasses import dataclass

from django.db.models import Value
from django.db.models.functions import Replace
from django.utils.translation import gettext

from linli.areas.choices import AreaLevel
from linli.areas.models import Area, House
from linli.core.scope import paths_q
from linli.registry.search import room_key

from .columns import CellError


@dataclass(frozen=True)
class Place:
    id: int
    path: str
    name: str


class GridResolver:
    """Grid code (CJ/T 349), name, or "社区 网格" / "社区-网格" → a grid in scope."""

    def __init__(self, paths: list[str]):
        self.paths = paths
        self.by_text: dict[str, list[Place]] = {}
        self.by_id: dict[int, Place] = {}
        self._cache: dict[str, Place | CellError] = {}
        # Every grid's code and name, to tell "outside your scope" from "no such grid" without a
        # query: rows are parsed in a worker thread, where queries are refused.
        self.anywhere: set[str] = set()
        for code, name in Area.objects.filter(level=AreaLevel.GRID).values_list("grid_code", "name"):
            self.anywhere.update((code, name))
        if not paths:
            return
        areas = list(
            Area.objects.filter(paths_q(paths, field="path"), level=AreaLevel.GRID, active=True).values_list(
                "id", "path", "name", "code", "grid_code"
            )
        )
        parents = dict(
            Area.objects.filter(path__in={p[:-4] for _, p, *_ in areas}).values_list("path", "name")
        )
        for area_id, path, name, code, grid_code in areas:
            place = Place(area_id, path, name)
            self.by_id[area_id] = place
            community = parents.get(path[:-4], "")
            texts = {name, code, grid_code}
            if community:
                texts |= {
                    community + name,
                    f"{community}/{name}",
                    f"{community}-{name}",
                    f"{community} {name}",
                }
            for text in texts:
                if text:
                    self.by_text.setdefault(_fold(text), []).append(place)

    def resolve(self, text: str) -> Place:
        key = _fold(text)
        hit = self._cache.get(key)
        if hit is None:
            hit = self._cache[key] = self._lookup(text, key)
        if isinstance(hit, CellError):
            raise hit
        return hit

    def _lookup(self, text: str, key: str) -> "Place | CellError":
        found = {p.id: p for p in self.by_text.get(key, [])}
        if len(found) == 1:
            return next(iter(found.values()))
        if len(found) > 1:
            return CellError(
                gettext(
                    "网格名称“%(text)s”在您的辖区内不唯一，请填写网格编码或“社区名 网格名” (ambiguous grid name; give the grid code or community and grid)"
                )
                % {"text": text}
            )
        if text in self.anywhere:
            return CellError(
                gettext("网格“%(text)s”不在您的管辖范围内 (the grid is outside your scope)") % {"text": text}
            )
        return CellError(gettext("找不到网格“%(text)s” (no such grid)") % {"text": text})


def _fold(text: str) -> str:
    return _compact(text).lower()


def _compact(text: str) -> str:
    return "".join(str(text).split())


@dataclass(frozen=True)
class HouseHit:
    id: int
    area_id: int
    address: str


class HouseResolver:
    """``3-2-501`` / ``3栋2单元501`` (room key) or a full address → a house in scope, per chunk."""

    def __init__(self, paths: list[str]):
        self.scope = paths_q(paths) if paths else None

    def lookup(self, texts: set[str]) -> dict[str, list[HouseHit]]:
        """Candidates for each text; the caller narrows them by grid."""
        if not texts or self.scope is None:
            return {}
        keys = {t: room_key(t) for t in texts}
        by_key: dict[str, list[HouseHit]] = {}
        wanted_keys = {k for k in keys.values() if k}
        if wanted_keys:
            rows = House.objects.filter(self.scope, room_key__in=wanted_keys).values_list(
                "id", "area_id", "address", "room_key"
            )
            for house_id, area_id, address, key in rows:
                by_key.setdefault(key, []).append(HouseHit(house_id, area_id, address))
        addresses = {_compact(t): t for t, k in keys.items() if not k}
        by_address: dict[str, list[HouseHit]] = {}
        if addresses:
            rows = (
                House.objects.filter(self.scope)
                .annotate(compact=Replace("address", Value(" "), Value("")))
                .filter(compact__in=list(addresses))
                .values_list("id", "area_id", "address", "compact")
            )
            for house_id, area_id, address, compact in rows:
                by_address.setdefault(compact, []).append(HouseHit(house_id, area_id, address))
        result = {}
        for text, key in keys.items():
            result[text] = by_key.get(key, []) if key else by_address.get(_compact(text), [])
        return result

    @staticmethod
    def choose(text: str, candidates: list[HouseHit], grid_id: int | None) -> HouseHit | None:
        """The one house meant, ``None`` for a free-text address, or :class:`CellError`."""
        if grid_id is not None:
            candidates = [c for c in candidates if c.area_id == grid_id]
        if len(candidates) == 1:
            return candidates[0]
        if len(candidates) > 1:
            raise CellError(
                gettext(
                    "房屋“%(text)s”对应多处房屋，请填写所属网格或完整地址 (ambiguous house; give the grid or full address)"
                )
                % {"text": text}
            )
        if room_key(text):
            where = "所填网格内" if grid_id is not None else "您的辖区内"
            raise CellError(
                gettext("%(where)s找不到房屋“%(text)s” (no such house)") % {"where": where, "text": text}
            )
        return None
