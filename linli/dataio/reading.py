"""Read an uploaded table row by row: the first worksheet of an .xlsx, or a CSV.

An .xlsx is read whole by python-calamine (fast), or, above ``LINLI_IMPORT_XLSX_STREAM_MB``,
streamed by :mod:`linli.dataio.xlsx_stream` (expat, bounded memory; same cell types); neither
accepts a DTD or expands entities. Files reach this module after :mod:`linli.dataio.safety` has
checked them. Rows come out as ``(row_number, cells)`` with
the row number a worker sees in Excel (1-based, header included), so error reports point at the
right line. Cells keep the types the reader gave them (``float``, ``date``, ``str``); the column
specs convert them.
"""

import csv
import datetime as dt
import io
import unicodedata
from collections.abc import Iterator
from pathlib import Path

from django.utils.translation import gettext

from . import conf
from .safety import XLSX, UnsafeFile

HEADER_SCAN_ROWS = 10
SNIFF_BYTES = 16 * 1024


class Source:
    """One pass over a stored upload. Make a new one for each pass (files are re-read, not kept)."""

    def __init__(self, path: Path, file_type: str, encoding: str = ""):
        self.path = Path(path)
        self.file_type = file_type
        self.encoding = encoding or "utf-8-sig"
        self.size = self.path.stat().st_size
        self.total_rows: int | None = None  # known up front for xlsx, after a full pass for CSV
        self._raw = None

    def rows(self) -> Iterator[tuple[int, list]]:
        if self.file_type == XLSX:
            yield from self._xlsx_rows()
        else:
            yield from self._csv_rows()

    def fraction_read(self) -> float | None:
        """How far through the file a CSV pass is (by bytes), for the progress bar."""
        if self._raw is None or not self.size:
            return None
        try:
            return min(self._raw.tell() / self.size, 1.0)
        except (OSError, ValueError):
            return None

    def _xlsx_rows(self) -> Iterator[tuple[int, list]]:
        if self.size > conf.xlsx_stream_bytes():
            yield from self._xlsx_stream_rows()
            return
        from python_calamine import CalamineError, CalamineWorkbook

        try:
            workbook = CalamineWorkbook.from_path(str(self.path))
        except (CalamineError, OSError, ValueError) as exc:
            raise UnsafeFile(
                gettext("无法读取工作簿：%(exc)s (the workbook cannot be read)") % {"exc": exc}
            ) from exc
        try:
            visible = [
                i
                for i, meta in enumerate(workbook.sheets_metadata)
                if str(meta.visible).endswith("Visible") and str(meta.typ).endswith("WorkSheet")
            ]
            sheet = workbook.get_sheet_by_index(visible[0] if visible else 0)
            last_row = sheet.end[0] + 1 if sheet.end else 0
            if last_row > conf.max_rows() + HEADER_SCAN_ROWS:
                raise UnsafeFile(too_many_rows_message())
            self.total_rows = last_row
            # iter_rows() starts at the sheet's first row (row 1), whatever the used range.
            for index, cells in enumerate(sheet.iter_rows()):
                yield index + 1, cells
        finally:
            workbook.close()

    def _xlsx_stream_rows(self) -> Iterator[tuple[int, list]]:
        from .xlsx_stream import Workbook, XlsxError

        try:
            workbook = Workbook(self.path)
        except XlsxError as exc:
            raise UnsafeFile(
                gettext("无法读取工作簿：%(exc)s (the workbook cannot be read)") % {"exc": exc}
            ) from exc
        try:
            ceiling = conf.max_rows() + HEADER_SCAN_ROWS
            declared = workbook.last_row()  # the sheet's <dimension>, for the progress bar only
            self.total_rows = declared if declared and declared <= ceiling else None
            for number, cells in workbook.rows():
                if number > ceiling:  # refused as it comes: the whole sheet is never held
                    raise UnsafeFile(too_many_rows_message())
                yield number, cells
        except XlsxError as exc:
            raise UnsafeFile(
                gettext("无法读取工作簿：%(exc)s (the workbook cannot be read)") % {"exc": exc}
            ) from exc
        finally:
            workbook.close()

    def _csv_rows(self) -> Iterator[tuple[int, list]]:
        raw = io.FileIO(self.path, "r")
        self._raw = raw
        text = io.TextIOWrapper(io.BufferedReader(raw), encoding=self.encoding, errors="strict", newline="")
        try:
            sample = text.read(SNIFF_BYTES)
            dialect = _sniff(sample)
            text.seek(0)
            reader = csv.reader(text, dialect)
            for index, cells in enumerate(reader):
                yield index + 1, cells
        except csv.Error as exc:
            raise UnsafeFile(gettext("CSV 格式错误：%(exc)s (malformed CSV)") % {"exc": exc}) from exc
        finally:
            text.close()
            self._raw = None


class _Tabbed(csv.excel):
    delimiter = "\t"


class _Semicolon(csv.excel):
    delimiter = ";"


def _sniff(sample: str):
    """Comma unless the first line has more tabs or semicolons (Excel's "Unicode text", EU locales)."""
    first = sample.split("\n", 1)[0]
    counts = {",": first.count(","), "\t": first.count("\t"), ";": first.count(";")}
    best = max(counts, key=counts.get)
    if counts[best] == 0 or best == ",":
        return csv.excel
    return _Tabbed if best == "\t" else _Semicolon


def too_many_rows_message() -> str:
    limit = conf.max_rows()
    return f"超过单个文件 {limit} 行的上限，请按社区拆分后分批导入 (more than {limit} rows; split the file)"


# -- cells ------------------------------------------------------------------------------------
_SPACES = str.maketrans({"\u00a0": " ", "\u3000": " ", "\u200b": "", "\ufeff": ""})


def cell_text(value) -> str:
    """The text a worker meant by a cell.

    Integral floats are printed as integers (Excel stores 13812345678 as 13812345678.0); floats of
    16 digits or more keep their scientific form, since Excel has already rounded away their last
    digits — an 18-digit ID typed as a number comes out as ``4.201051980051713e+17`` and is
    refused as such, never silently "repaired".
    """
    if type(value) is str:  # CSV cells, and most .xlsx ones
        # _SPACES maps non-ASCII characters only: an ASCII cell (IDs, phones, dates) needs no translate
        return value.strip() if value.isascii() else value.translate(_SPACES).strip()
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value).translate(_SPACES).strip()


def header_key(text) -> str:
    """Normalise a header cell for matching: width, case, spaces, required-marks and brackets."""
    norm = unicodedata.normalize("NFKC", cell_text(text)).lower()
    for ch in " _*＊:：\n\r\t":
        norm = norm.replace(ch, "")
    # "身份证号(必填)" / "联系电话（手机）" → the part before the bracket
    for bracket in "(（[【":
        if bracket in norm and not norm.startswith(bracket):
            norm = norm.split(bracket, 1)[0]
    return norm


def is_blank(cells: list) -> bool:
    return all(cell_text(c) == "" for c in cells)
