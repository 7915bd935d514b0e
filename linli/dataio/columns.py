"""Columns of an import file: headers and aliases, and turning cells into clean values.

A record type's spec is a list of :class:`Column`. Each converts a raw cell to a clean value or
raises :class:`CellError` with a bilingual reason; the pipeline attaches row number and column.
Coded columns accept the code (``01``), the table's name (``汉族``), the name without its
suffix (``汉``), the English name, or an everyday spelling from ``data/code_aliases.json``.
"""

import datetime as dt
import json
import re
import unicodedata
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from django.core.exceptions import ValidationError
from django.utils.translation import gettext

from linli.codes.models import Code
from linli.core.validators import parse_phone

from .reading import cell_text, header_key

ALIASES_FILE = Path(__file__).resolve().parent / "data" / "code_aliases.json"
EXCEL_EPOCH = dt.date(1899, 12, 30)
_DATE_PATTERNS = (
    re.compile(r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?(?:[ T].*)?$"),
    re.compile(r"^(\d{4})(\d{2})(\d{2})$"),
)


class CellError(Exception):
    """A cell's value is unusable; the message is the bilingual reason."""


@dataclass(frozen=True)
class Column:
    """One column of an import file."""

    key: str
    header: str  # the Chinese header written in templates and error reports
    aliases: tuple[str, ...] = ()
    required: bool = False
    kind: str = "text"  # text, code, date, id, phone, area, house
    table: str = ""  # code table for kind == "code"
    max_length: int = 0
    example: str = ""
    help: str = ""
    width: int = 12
    as_text: bool = False  # format the template column as text so Excel keeps the digits

    @property
    def match_keys(self) -> set[str]:
        return {header_key(self.header), header_key(self.key), *(header_key(a) for a in self.aliases)}


@dataclass
class CodeTable:
    """Lookup of one code table by code, name, short name, English name and alias."""

    key: str
    codes: dict[str, str] = field(default_factory=dict)  # code -> name
    by_text: dict[str, str] = field(default_factory=dict)
    pad: int = 0
    _seen: dict[str, str | None] = field(default_factory=dict, repr=False)  # a column repeats few values

    def resolve(self, text: str) -> str | None:
        try:
            return self._seen[text]
        except KeyError:
            code = self._resolve(text)
            if len(self._seen) < 10_000:  # bounded: a file of typos must not grow it without end
                self._seen[text] = code
            return code

    def _resolve(self, text: str) -> str | None:
        if text in self.codes:
            return text
        if self.pad and text.isdigit() and len(text) < self.pad:
            padded = text.zfill(self.pad)  # 1 typed into a numeric cell means 01
            if padded in self.codes:
                return padded
        return self.by_text.get(_fold(text))


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip().lower().replace(" ", "")


@cache
def _aliases() -> dict[str, dict[str, str]]:
    data = json.loads(ALIASES_FILE.read_text(encoding="utf-8"))
    return {k: v for k, v in data.items() if not k.startswith("_")}


def load_code_table(key: str) -> CodeTable:
    """Read one table (active codes only) into a lookup; call once per import run."""
    table = CodeTable(key)
    rows = Code.objects.filter(table__key=key, active=True).values_list("code", "name", "name_en")
    for code, name, name_en in rows:
        table.codes[code] = name
        for text in (name, name_en):
            if text:
                table.by_text.setdefault(_fold(text), code)
        # 汉族 → 汉, 中共党员 stays; only strip a trailing 族 where the rest is still a name
        if name.endswith("族") and len(name) >= 2:
            table.by_text.setdefault(_fold(name[:-1]), code)
    for text, code in _aliases().get(key, {}).items():
        if code in table.codes:
            table.by_text.setdefault(_fold(text), code)
    lengths = {len(c) for c in table.codes}
    table.pad = lengths.pop() if len(lengths) == 1 and all(c.isdigit() for c in table.codes) else 0
    return table


def parse_code(column: Column, table: CodeTable, text: str) -> str:
    code = table.resolve(text)
    if code is None:
        examples = "、".join(f"“{c}”或“{n}”" for c, n in list(table.codes.items())[:2])
        raise CellError(
            gettext(
                "“%(text)s”不是有效的%(header)s，可填写代码或名称，如%(examples)s (unknown %(key)s code or name)"
            )
            % {"text": text, "header": column.header, "examples": examples, "key": column.key}
        )
    return code


def parse_date(raw, column: Column) -> dt.date:
    if isinstance(raw, dt.datetime):
        return raw.date()
    if isinstance(raw, dt.date):
        return raw
    if isinstance(raw, float | int) and not isinstance(raw, bool) and 1 <= raw < 80000:
        return EXCEL_EPOCH + dt.timedelta(days=int(raw))  # an Excel date serial without a date format
    text = unicodedata.normalize("NFKC", cell_text(raw))
    for pattern in _DATE_PATTERNS:
        match = pattern.match(text)
        if match:
            try:
                return dt.date(*(int(g) for g in match.groups()))
            except ValueError:
                break
    raise CellError(
        gettext("“%(text)s”不是有效日期，请按 1980-05-17 的格式填写 (not a valid date; use YYYY-MM-DD)")
        % {"text": text}
    )


def parse_phone_cell(text: str) -> str:
    try:
        return parse_phone(text)
    except ValidationError as exc:
        raise CellError(exc.messages[0]) from None


# Control characters (C0/C1 except tab and line breaks): invisible in Excel, they break XML exports
# and searches. xlsx cells carry them as _x0001_ escapes (found by the robustness suite).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def check_length(column: Column, text: str) -> str:
    """A free-text cell: no control characters, at most ``max_length`` characters."""
    bad = _CONTROL.search(text)
    if bad:
        raise CellError(
            f"{column.header}含有不可见的控制字符（U+{ord(bad.group()):04X}），请删除后重新导入 "
            f"(contains a control character)"
        )
    if column.max_length and len(text) > column.max_length:
        raise CellError(
            gettext(
                "%(header)s不能超过 %(max_length)s 个字，实际 %(len)s 个 (longer than %(max_length)s characters)"
            )
            % {"header": column.header, "max_length": column.max_length, "len": len(text)}
        )
    return text


def match_header(cells: list, columns: list[Column]) -> tuple[dict[int, Column], list[str]]:
    """Map cell positions to columns; also return the headers nobody claimed (to tell the user)."""
    lookup: dict[str, Column] = {}
    for column in columns:
        for key in column.match_keys:
            lookup.setdefault(key, column)
    mapping: dict[int, Column] = {}
    unknown: list[str] = []
    taken: set[str] = set()
    for index, cell in enumerate(cells):
        key = header_key(cell)
        if not key:
            continue
        column = lookup.get(key)
        if column is None or column.key in taken:
            unknown.append(cell_text(cell))
            continue
        mapping[index] = column
        taken.add(column.key)
    return mapping, unknown
