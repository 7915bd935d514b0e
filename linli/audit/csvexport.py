"""CSV for Excel users: UTF-8 with a BOM (Chinese Excel reads it as UTF-8), streamed row by row,
and safe against formula injection."""

import csv
from collections.abc import Iterable, Iterator

BOM = "\ufeff"
# A cell starting with one of these is a formula to Excel, LibreOffice and WPS (OWASP CSV injection).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value) -> str:
    """The cell as text; a leading formula character is neutralised with a single quote."""
    text = "" if value is None else str(value)
    if text.startswith(FORMULA_PREFIXES):
        return "'" + text
    return text


class _Echo:
    def write(self, value):
        return value


def stream_rows(rows: Iterable[Iterable]) -> Iterator[str]:
    """Encode each row as one CSV line; the first chunk starts with the BOM."""
    writer = csv.writer(_Echo())
    yield BOM
    for row in rows:
        yield writer.writerow([safe_cell(cell) for cell in row])
