"""Stream the rows of a large .xlsx worksheet with bounded memory.

python-calamine loads a whole worksheet into a Rust ``Range`` before the first row comes out
(about 1.4 KB per ledger row, so ~1.5 GB for a million rows). This reader decompresses the
worksheet part block by block and parses it with expat, keeping only the rows of the current
block (plus the shared-string table, which every reader must hold). It gives the cells the same
Python types calamine gives them: ``float`` for numbers, ``date``/``datetime`` for cells whose
number format is a date, ``bool``, ``str`` (cached values for formula cells, ``""`` for empty
cells), so :func:`linli.dataio.reading.cell_text` treats both alike.

Differences from calamine, none of which the importer sees: rows without any value are left
out (calamine yields them as rows of ``""``; the importer skips blank rows), columns always start
at column A (calamine starts at the first used column; the header mapping works on either), and
rows are padded to the widest row so far rather than to the used range.

Files reach this module after :mod:`linli.dataio.safety` has checked them (zip bomb limits, no
macros, no DTD); the parsers here refuse a DTD again and never expand entities.
"""

import contextlib
import datetime as dt
import re
import zipfile
import zlib
from array import array
from collections.abc import Iterator
from pyexpat import ParserCreate, errors
from xml.parsers import expat

BLOCK = 256 * 1024
NS_SEP = ":"  # no namespace processing: "x:c" and "c" are both the local name "c"
RELS_OFFICE_DOCUMENT = "/officeDocument"
BUILTIN_DATE_FORMATS = set(range(14, 23)) | set(range(27, 37)) | set(range(45, 48)) | set(range(50, 59))
BUILTIN_DURATION_FORMATS = {46}
_CELL_REF = re.compile(r"([A-Z]+)(\d*)")
_QUOTED = re.compile(r'"[^"]*"|\\.|_.|\*.')


class XlsxError(Exception):
    """The workbook's structure cannot be read (the caller turns this into an UnsafeFile)."""


#: What a damaged part raises while it is decompressed or parsed (a bad CRC, a truncated stream,
#: a row number that is not a number); the safety checks have already read every part once.
DAMAGED = (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, OverflowError)


def _local(name: str) -> str:
    return name.rpartition(NS_SEP)[2]


def _refuse_dtd(*_args):
    raise XlsxError("XML with a DTD or entity declarations is refused")


def _parser(start=None, end=None, text=None):
    parser = ParserCreate()
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.StartDoctypeDeclHandler = _refuse_dtd
    parser.EntityDeclHandler = _refuse_dtd
    parser.buffer_text = True
    parser.buffer_size = 64 * 1024
    if start:
        parser.StartElementHandler = start
    if end:
        parser.EndElementHandler = end
    if text:
        parser.CharacterDataHandler = text
    return parser


def _parse_part(archive: zipfile.ZipFile, name: str, parser) -> None:
    try:
        with archive.open(name) as part:
            while block := part.read(BLOCK):
                parser.Parse(block, False)
            parser.Parse(b"", True)
    except expat.ExpatError as exc:
        raise XlsxError(f"{name}: {errors.messages.get(exc.code, exc)}") from exc
    except KeyError as exc:
        raise XlsxError(f"missing part {name}") from exc
    except DAMAGED as exc:
        raise XlsxError(f"{name}: {exc}") from exc


def _resolve(base: str, target: str) -> str:
    """A relationship target relative to the folder of the part that declares it."""
    if target.startswith("/"):
        return target.lstrip("/")
    folder = base.rpartition("/")[0]
    parts = (folder.split("/") if folder else []) + target.split("/")
    out: list[str] = []
    for p in parts:
        if p == "..":
            if out:
                out.pop()
        elif p not in ("", "."):
            out.append(p)
    return "/".join(out)


def _relationships(archive: zipfile.ZipFile, part: str) -> dict[str, tuple[str, str]]:
    """``{id: (type, resolved target)}`` of a part's ``_rels`` file (empty if it has none)."""
    folder, _, file = part.rpartition("/")
    rels_name = f"{folder}/_rels/{file}.rels" if folder else f"_rels/{file}.rels"
    found: dict[str, tuple[str, str]] = {}

    def start(name, attrs):
        if _local(name) == "Relationship" and attrs.get("TargetMode") != "External":
            found[attrs.get("Id", "")] = (attrs.get("Type", ""), _resolve(part, attrs.get("Target", "")))

    if rels_name in archive.NameToInfo:
        _parse_part(archive, rels_name, _parser(start))
    return found


_ESCAPED = re.compile(r"_x([0-9A-Fa-f]{4})_")


def _unescape(text: str) -> str:
    """OOXML writes characters XML cannot carry (control characters) as ``_xHHHH_``; calamine decodes them."""
    if "_x" not in text:
        return text
    return _ESCAPED.sub(lambda m: chr(int(m.group(1), 16)), text)


def _is_date_format(code: str) -> bool:
    """A custom number format shows a date or time: it has d/m/y/h/s outside quotes and brackets."""
    stripped = _QUOTED.sub("", code)
    stripped = re.sub(r"\[[^\]]*\]", "", stripped).lower()
    return any(ch in stripped for ch in "dmyhs")


def _is_duration_format(code: str) -> bool:
    return bool(re.search(r"\[(h+|m+|s+)\]", code.lower()))


class SharedStrings:
    """The shared-string table kept compactly: one UTF-8 buffer and an array of offsets.

    A Python ``str`` per entry costs 50–80 bytes of overhead; a million-row workbook has millions
    of distinct strings (ID numbers, phone numbers, names), so they are decoded on access.
    """

    def __init__(self):
        self._data = bytearray()
        self._ends = array("Q")

    def append(self, text: str) -> None:
        self._data += text.encode("utf-8", "surrogatepass")
        self._ends.append(len(self._data))

    def __len__(self) -> int:
        return len(self._ends)

    def __getitem__(self, index: int) -> str:
        end = self._ends[index]
        start = self._ends[index - 1] if index else 0
        return self._data[start:end].decode("utf-8", "surrogatepass")


def _shared_strings(archive: zipfile.ZipFile, name: str | None) -> SharedStrings:
    table = SharedStrings()
    if not name or name not in archive.NameToInfo:
        return table
    state = {"buf": [], "in_t": False, "skip": 0}

    def start(tag, _attrs):
        local = _local(tag)
        if local == "t":
            state["in_t"] = not state["skip"]
        elif local == "rPh":  # phonetic guide text is not part of the cell's value
            state["skip"] += 1
        elif local == "si":
            state["buf"] = []

    def end(tag):
        local = _local(tag)
        if local == "t":
            state["in_t"] = False
        elif local == "rPh":
            state["skip"] -= 1
        elif local == "si":
            table.append(_unescape("".join(state["buf"])))

    def text(data):
        if state["in_t"]:
            state["buf"].append(data)

    _parse_part(archive, name, _parser(start, end, text))
    return table


def _styles(archive: zipfile.ZipFile, name: str | None) -> list[str]:
    """Per cell format (``s`` index): ``"date"``, ``"duration"`` or ``""``."""
    if not name or name not in archive.NameToInfo:
        return []
    custom: dict[int, str] = {}
    xf_formats: list[int] = []
    state = {"in_cell_xfs": False}

    def start(tag, attrs):
        local = _local(tag)
        if local == "numFmt":
            with contextlib.suppress(ValueError):
                custom[int(attrs.get("numFmtId", ""))] = attrs.get("formatCode", "")
        elif local == "cellXfs":
            state["in_cell_xfs"] = True
        elif local == "xf" and state["in_cell_xfs"]:
            try:
                xf_formats.append(int(attrs.get("numFmtId", "0")))
            except ValueError:
                xf_formats.append(0)

    def end(tag):
        if _local(tag) == "cellXfs":
            state["in_cell_xfs"] = False

    _parse_part(archive, name, _parser(start, end))
    kinds = []
    for fmt in xf_formats:
        if fmt in custom:
            code = custom[fmt]
            kinds.append("duration" if _is_duration_format(code) else "date" if _is_date_format(code) else "")
        elif fmt in BUILTIN_DATE_FORMATS:
            kinds.append("duration" if fmt in BUILTIN_DURATION_FORMATS else "date")
        else:
            kinds.append("")
    return kinds


_COLUMNS: dict[str, int] = {}


def _column_index(ref: str) -> int:
    """0-based column of a cell reference such as ``"AB12"`` (-1 if it is not one)."""
    letters = ref.rstrip("0123456789")
    index = _COLUMNS.get(letters)
    if index is None:
        index = -1
        if letters.isascii() and letters.isalpha() and letters.isupper() and len(letters) <= 3:
            index = 0
            for ch in letters:
                index = index * 26 + ord(ch) - 64
            index -= 1
            _COLUMNS[letters] = index
    return index


def _excel_datetime(value: float, date1904: bool):
    if date1904:
        base = dt.datetime(1904, 1, 1)
    elif value < 60:  # Excel counts a 29 February 1900 that never was
        base = dt.datetime(1899, 12, 31)
    else:
        base = dt.datetime(1899, 12, 30)
    try:
        moment = base + dt.timedelta(milliseconds=round(value * 86_400_000))
    except (OverflowError, ValueError):  # out of the calendar, inf, nan
        return value
    if moment.time() == dt.time():
        return moment.date()
    return moment


class Workbook:
    """The first visible worksheet of an .xlsx, streamed (see the module docstring)."""

    def __init__(self, path):
        try:
            self.archive = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError) as exc:
            raise XlsxError(str(exc)) from exc
        try:
            self._open()
        except BaseException:
            self.archive.close()
            raise

    def _open(self) -> None:
        archive = self.archive
        book = next(
            (t for kind, t in _relationships(archive, "").values() if kind.endswith(RELS_OFFICE_DOCUMENT)),
            "xl/workbook.xml",
        )
        sheets: list[tuple[str, str]] = []  # (relationship id, state)
        props = {"date1904": False}

        def start(tag, attrs):
            local = _local(tag)
            if local == "sheet":
                rel = next((v for k, v in attrs.items() if _local(k) == "id"), "")
                sheets.append((rel, attrs.get("state", "visible")))
            elif local == "workbookPr":
                props["date1904"] = attrs.get("date1904", "0") in ("1", "true")

        _parse_part(archive, book, _parser(start))
        rels = _relationships(archive, book)
        worksheets = [
            (rels[rel][1], state)
            for rel, state in sheets
            if rel in rels and rels[rel][0].endswith("/worksheet")
        ]
        if not worksheets:
            raise XlsxError("the workbook has no worksheet")
        visible = [target for target, state in worksheets if state == "visible"]
        self.sheet_part = visible[0] if visible else worksheets[0][0]
        self.date1904 = props["date1904"]
        by_type = {kind.rpartition("/")[2]: target for kind, target in rels.values()}
        self.shared = _shared_strings(archive, by_type.get("sharedStrings"))
        self.kinds = _styles(archive, by_type.get("styles"))

    def close(self) -> None:
        self.archive.close()

    def last_row(self) -> int | None:
        """The last row the worksheet declares (its ``<dimension>``), read from the first block."""
        found: dict[str, str] = {}

        def start(tag, attrs):
            local = _local(tag)
            if local == "dimension":
                found["ref"] = attrs.get("ref", "")
                raise _Stop
            if local == "sheetData":
                raise _Stop

        parser = _parser(start)
        try:
            with self.archive.open(self.sheet_part) as part:
                while block := part.read(16 * 1024):
                    parser.Parse(block, False)
        except _Stop:
            pass
        except (expat.ExpatError, KeyError, *DAMAGED) as exc:
            raise XlsxError(str(exc)) from exc
        ref = found.get("ref", "").rpartition(":")[2]
        match = _CELL_REF.fullmatch(ref)
        if not match or not match.group(2):
            return None
        return int(match.group(2))

    def rows(self) -> Iterator[tuple[int, list]]:
        """``(row number, cells)`` for every row with at least one value (blank rows are left out)."""
        shared, kinds, date1904 = self.shared, self.kinds, self.date1904
        width = 0
        done: list[tuple[int, list]] = []
        buf: list[str] = []
        locals_: dict[str, str] = {}
        row_number, cells, col, kind, style, capture, skip, filled = 0, None, -1, "n", 0, False, 0, False

        def local_name(tag):
            name = locals_.get(tag)
            if name is None:
                name = locals_[tag] = tag.rpartition(NS_SEP)[2]
            return name

        def start(tag, attrs):
            nonlocal row_number, cells, col, kind, style, capture, skip, filled
            local = locals_.get(tag) or local_name(tag)
            if local == "c":
                ref = attrs.get("r")
                col = _column_index(ref) if ref else col + 1
                kind = attrs.get("t", "n")
                s = attrs.get("s")
                style = int(s) if s else 0
                buf.clear()
            elif local == "v":
                capture = True
            elif local == "t":
                capture = not skip
            elif local == "row":
                number = attrs.get("r")
                row_number = int(number) if number else row_number + 1
                cells = []
                col = -1
                filled = False
            elif local == "rPh":
                skip += 1

        def end(tag):
            nonlocal cells, width, capture, skip, filled
            local = locals_.get(tag) or local_name(tag)
            if local == "c":
                if cells is None or col < 0:
                    return
                if not buf:
                    return
                value = _value(kind, "".join(buf), style)
                if value == "":
                    return
                filled = True
                if col >= len(cells):
                    cells.extend([""] * (col - len(cells) + 1))
                cells[col] = value
            elif local == "v" or local == "t":
                capture = False
            elif local == "row":
                if filled:
                    if len(cells) > width:
                        width = len(cells)
                    elif len(cells) < width:
                        cells.extend([""] * (width - len(cells)))
                    done.append((row_number, cells))
                cells = None
            elif local == "rPh":
                skip -= 1

        def text(data):
            if capture:
                buf.append(data)

        def _value(kind: str, raw: str, style: int):
            if kind == "n":
                try:
                    number = float(raw)
                except ValueError:
                    return raw
                fmt = kinds[style] if style < len(kinds) else ""
                if fmt == "date":
                    return _excel_datetime(number, date1904)
                if fmt == "duration":
                    try:
                        return dt.timedelta(milliseconds=round(number * 86_400_000))
                    except (OverflowError, ValueError):
                        return number
                return number
            if kind == "s":
                try:
                    return shared[int(raw)]
                except (ValueError, IndexError):
                    return ""
            if kind == "b":
                return raw.strip() in ("1", "true")
            if kind == "d":
                try:
                    moment = dt.datetime.fromisoformat(raw.strip())
                except ValueError:
                    return raw
                return moment.date() if moment.time() == dt.time() else moment
            return _unescape(raw)  # inlineStr, str (a formula's cached text), e (an error such as #N/A)

        parser = _parser(start, end, text)
        try:
            with self.archive.open(self.sheet_part) as part:
                while block := part.read(BLOCK):
                    parser.Parse(block, False)
                    if done:
                        yield from done
                        done.clear()
                parser.Parse(b"", True)
        except expat.ExpatError as exc:
            raise XlsxError(errors.messages.get(exc.code, str(exc))) from exc
        except KeyError as exc:
            raise XlsxError(f"missing part {self.sheet_part}") from exc
        except DAMAGED as exc:
            raise XlsxError(f"{self.sheet_part}: {exc}") from exc
        yield from done
        done.clear()


class _Stop(Exception):
    pass
