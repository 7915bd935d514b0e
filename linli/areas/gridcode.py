"""Grid codes.

The default scheme follows CJ/T 349-2010 as profiled in SPEC §1: 20 digits made of a 6-digit
managed-object code, the 6-digit GB/T 2260 district code, 3 digits of sub-district, 3 of community
and a 2-digit grid number. ``LINLI_GRID_CODE_SCHEME=custom`` accepts any code matching
``LINLI_GRID_CODE_PATTERN`` for places with their own numbering.
"""

import os
import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext

CJT349_LENGTH = 20


def object_code() -> str:
    return os.environ.get("LINLI_GRID_OBJECT_CODE", "000000")


def build_cjt349(community_code: str, grid_number: int) -> str:
    """Grid code from the community's 12-digit statistics code and the grid's number (1–99)."""
    if not re.fullmatch(r"\d{12}", community_code or ""):
        raise ValidationError(
            gettext(
                "生成网格编码需要 12 位社区代码 (a 12-digit community code is needed to build a grid code)"
            ),
            code="grid_community_code",
        )
    if not 1 <= grid_number <= 99:
        raise ValidationError(
            gettext("网格序号须在 1–99 之间 (grid number must be 1–99)"), code="grid_number"
        )
    return f"{object_code()}{community_code}{grid_number:02d}"


def validate_grid_code(code: str, community_code: str = "") -> None:
    scheme = settings.LINLI_GRID_CODE_SCHEME
    if scheme == "custom":
        pattern = os.environ.get("LINLI_GRID_CODE_PATTERN", r"[0-9A-Za-z-]{1,32}")
        if not re.fullmatch(pattern, code):
            raise ValidationError(
                gettext("网格编码不符合本地编码规则 %(pattern)s (grid code does not match the local pattern)")
                % {"pattern": pattern},
                code="grid_code_pattern",
            )
        return
    if not re.fullmatch(r"\d{20}", code):
        raise ValidationError(
            gettext("网格编码应为 20 位数字 (CJ/T 349-2010) (a grid code has 20 digits)"),
            code="grid_code_format",
        )
    if community_code and code[6:18] != community_code:
        raise ValidationError(
            gettext("网格编码的第 7–18 位应与所属社区代码一致 (digits 7–18 must equal the community code)"),
            code="grid_code_community",
        )
