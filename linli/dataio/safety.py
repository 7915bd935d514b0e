"""Refuse unsafe uploads before any parser sees them (SPEC §14 "Uploads").

An .xlsx is a zip of XML parts. Before python-calamine opens one we check, with :mod:`zipfile`
and our own byte counting, that it is a real OOXML package (``[Content_Types].xml``), carries no
macros (``vbaProject.bin``, macro-enabled content types), declares no DTD (no entity tricks, even
though calamine's parser does not expand entities), and does not unpack into more than the
configured ceiling: sizes are *counted while decompressing*, not read from headers a bomb can lie
in. A .csv must be text: no NUL bytes, not a disguised zip or OLE file, and decodable as UTF-8
(with or without BOM) or GB18030/GBK.
"""

import codecs
import zipfile
from dataclasses import dataclass
from pathlib import Path

from django.utils.translation import gettext

from . import conf

XLSX, CSV = "xlsx", "csv"
ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # .xls, .doc and other legacy Office files
MACRO_CONTENT_TYPES = (b"macroenabled", b"vbaproject", b"activex")
READ_BLOCK = 1024 * 1024
XML_PROLOGUE = 4096
MAX_ZIP_ENTRIES = 10_000
RATIO_FLOOR = 1024 * 1024  # ratio is only meaningful for parts that unpack to something sizeable

REFUSED_EXTENSIONS = {
    ".xlsm": "启用宏的工作簿 (.xlsm) 不允许上传，请另存为 .xlsx (macro-enabled workbooks are refused)",
    ".xltm": "启用宏的模板 (.xltm) 不允许上传，请另存为 .xlsx (macro-enabled templates are refused)",
    ".xlsb": "二进制工作簿 (.xlsb) 不支持，请另存为 .xlsx (binary workbooks are not supported)",
    ".xls": "旧版 Excel 文件 (.xls) 不支持，请另存为 .xlsx (legacy .xls files are not supported; save as .xlsx)",
    ".et": "WPS 表格文件 (.et) 不支持，请另存为 .xlsx (WPS .et files are not supported; save as .xlsx)",
}


class UnsafeFile(Exception):
    """The upload is refused; ``str(exc)`` is the bilingual reason shown to the user."""


@dataclass(frozen=True)
class Checked:
    file_type: str  # "xlsx" or "csv"
    encoding: str = ""  # CSV only: "utf-8-sig", "utf-8" or "gb18030"


def file_type_of(name: str) -> str:
    """The accepted type for a file name, or :class:`UnsafeFile` with the reason."""
    suffix = Path(name or "").suffix.lower()
    if suffix in REFUSED_EXTENSIONS:
        raise UnsafeFile(REFUSED_EXTENSIONS[suffix])
    if suffix == ".xlsx":
        return XLSX
    if suffix in (".csv", ".txt"):
        return CSV
    raise UnsafeFile(
        gettext(
            "不支持的文件类型“%(suffix)s”，请上传 .xlsx 或 .csv 文件 (only .xlsx and .csv files are accepted)"
        )
        % {"suffix": suffix or gettext("无扩展名")}
    )


def check_size(size: int) -> None:
    if size <= 0:
        raise UnsafeFile(gettext("文件为空 (the file is empty)"))
    limit = conf.max_upload_bytes()
    if size > limit:
        raise UnsafeFile(
            gettext(
                "文件大小 %(MB)s MB 超过上限 %(MB2)s MB，请按社区拆分后分批导入 (the file exceeds the %(MB2)s MB limit; split it)"
            )
            % {"MB": format(size / conf.MB, ".1f"), "MB2": limit // conf.MB}
        )


def check_file(path: Path, name: str) -> Checked:
    """Run every check on a stored upload; returns its type (and a CSV's encoding)."""
    file_type = file_type_of(name)
    check_size(path.stat().st_size)
    with open(path, "rb") as fh:
        head = fh.read(8)
    if file_type == XLSX:
        if not head.startswith(ZIP_MAGIC):
            if head.startswith(OLE_MAGIC):
                raise UnsafeFile(
                    gettext(
                        "这是旧版 .xls 文件或加密的工作簿，只是改了扩展名；请在 Excel 中另存为 .xlsx "
                        "(this is a legacy or encrypted workbook renamed to .xlsx)"
                    )
                )
            raise UnsafeFile(
                gettext("文件内容不是有效的 .xlsx 工作簿 (the content is not an .xlsx workbook)")
            )
        check_xlsx_package(path)
        return Checked(XLSX)
    return Checked(CSV, detect_csv_encoding(path, head))


def check_xlsx_package(path: Path) -> None:
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise UnsafeFile(gettext("工作簿已损坏，无法打开 (the workbook is damaged)")) from exc
    with archive:
        entries = archive.infolist()
        if len(entries) > MAX_ZIP_ENTRIES:
            raise UnsafeFile(gettext("工作簿内部文件过多，已拒绝 (too many parts in the workbook)"))
        names = {e.filename.lower() for e in entries}
        if "[content_types].xml" not in names:
            raise UnsafeFile(
                gettext("文件内容不是有效的 .xlsx 工作簿 (no [Content_Types].xml: not an OOXML workbook)")
            )
        if any(n.endswith(("vbaproject.bin", "vbadata.xml")) for n in names):
            raise UnsafeFile(
                gettext("工作簿包含宏代码，已拒绝；请另存为不含宏的 .xlsx (the workbook contains macros)")
            )
        if any(e.flag_bits & 0x1 for e in entries):
            raise UnsafeFile(gettext("工作簿已加密，请取消密码后再上传 (encrypted workbooks are refused)"))
        ceiling = conf.max_unzipped_bytes()
        ratio = conf.max_zip_ratio()
        total = 0
        for entry in entries:
            total = _count_entry(archive, entry, total, ceiling, ratio)


def _count_entry(
    archive: zipfile.ZipFile, entry: zipfile.ZipInfo, total: int, ceiling: int, ratio: int
) -> int:
    """Decompress one part, counting real bytes; stop as soon as a limit is crossed."""
    size = 0
    prologue = b""
    is_xml = entry.filename.lower().endswith((".xml", ".rels", ".vml"))
    # The content-types part is read whole (it is small): macro types may be declared anywhere in it.
    keep = READ_BLOCK if entry.filename == "[Content_Types].xml" else XML_PROLOGUE
    try:
        with archive.open(entry) as part:
            while block := part.read(READ_BLOCK):
                size += len(block)
                total += len(block)
                if is_xml and len(prologue) < keep:
                    prologue += block[: keep - len(prologue)]
                if total > ceiling:
                    raise UnsafeFile(
                        gettext(
                            "工作簿解压后超过 %(MB)s MB，疑似压缩炸弹，已拒绝 (the workbook unpacks beyond the limit: possible zip bomb)"
                        )
                        % {"MB": ceiling // conf.MB}
                    )
                if size > RATIO_FLOOR and size > ratio * max(entry.compress_size, 1):
                    raise UnsafeFile(
                        gettext(
                            "工作簿压缩比异常，疑似压缩炸弹，已拒绝 (abnormal compression ratio: possible zip bomb)"
                        )
                    )
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, NotImplementedError, OSError) as exc:
        raise UnsafeFile(gettext("工作簿已损坏，无法打开 (the workbook is damaged)")) from exc
    if is_xml:
        lowered = prologue.lower()
        if b"<!doctype" in lowered or b"<!entity" in lowered:
            raise UnsafeFile(gettext("工作簿含有 DTD 声明，已拒绝 (XML with a DTD or entities is refused)"))
        if entry.filename == "[Content_Types].xml" and any(t in lowered for t in MACRO_CONTENT_TYPES):
            raise UnsafeFile(
                gettext("工作簿包含宏代码，已拒绝；请另存为不含宏的 .xlsx (the workbook contains macros)")
            )
    return total


def detect_csv_encoding(path: Path, head: bytes) -> str:
    """UTF-8 (BOM or not) if the whole file decodes strictly as UTF-8, else GB18030 (a superset of GBK).

    Strict UTF-8 first: GBK text practically never decodes as valid UTF-8, while UTF-8 text
    usually *does* decode as GB18030 (into nonsense), so the order matters.
    """
    if head.startswith((ZIP_MAGIC, OLE_MAGIC)):
        raise UnsafeFile(
            gettext(
                "文件扩展名为 .csv，但内容是 Excel 工作簿；请另存为 CSV 或以 .xlsx 上传 "
                "(a workbook renamed to .csv)"
            )
        )
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise UnsafeFile(
            gettext(
                "文件是 UTF-16 编码（Excel 的“Unicode 文本”），请另存为“CSV UTF-8” "
                "(UTF-16 text is not supported; save as CSV UTF-8)"
            )
        )
    if _decodes(path, "utf-8"):
        return "utf-8-sig" if head.startswith(codecs.BOM_UTF8) else "utf-8"
    if _decodes(path, "gb18030"):
        return "gb18030"
    raise UnsafeFile(
        gettext(
            "无法识别文件编码，请另存为“CSV UTF-8”或 GBK 编码的 CSV (the encoding is neither UTF-8 nor GBK)"
        )
    )


def _decodes(path: Path, encoding: str) -> bool:
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    with open(path, "rb") as fh:
        try:
            while block := fh.read(READ_BLOCK):
                if b"\x00" in block:
                    raise UnsafeFile(
                        gettext("文件含有二进制内容，不是文本 CSV (the file is binary, not CSV text)")
                    )
                decoder.decode(block)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return False
    return True
