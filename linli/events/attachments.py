"""Photos and PDFs on events: accepted by content, not by name.

A file is accepted when its first bytes are those of JPEG, PNG, WebP or PDF *and* its extension
names the same type; a ``.jpg`` that is really a script, an HTML page or a renamed executable is
refused. Images carrying markup or script markers (polyglot files) and PDFs with active content
(JavaScript, launch actions, embedded files, XFA forms) are refused too. Files are stored under
random names; the uploader's name is kept only as text.
"""

import hashlib
import re
from dataclasses import dataclass
from pathlib import PurePath

from django.core.exceptions import ValidationError
from django.core.files.base import File
from django.utils.translation import gettext

from . import conf

JPEG, PNG, WEBP, PDF = "image/jpeg", "image/png", "image/webp", "application/pdf"
EXTENSIONS = {".jpg": JPEG, ".jpeg": JPEG, ".png": PNG, ".webp": WEBP, ".pdf": PDF}
CHUNK = 1 << 20
# Markers that have no business inside a photo: a file with them is made to be read as something else.
POLYGLOT_MARKERS = re.compile(rb"<\?php|<script|<html|<svg|<!doctype|#!/", re.IGNORECASE)
PDF_ACTIVE = re.compile(rb"/(JavaScript|JS|Launch|EmbeddedFiles?|RichMedia|XFA)(?![A-Za-z0-9])")


@dataclass(frozen=True)
class CheckedFile:
    file: File
    name: str
    content_type: str
    size: int
    sha256: str


def _error(message: str, code: str) -> ValidationError:
    """``message`` is translated; its msgid is "中文 (English)", so Chinese readers get both."""
    return ValidationError(message, code=code)


def sniff(head: bytes) -> str | None:
    """The type the leading bytes announce, or ``None``."""
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if len(head) >= 12 and head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return WEBP
    if head.startswith(b"%PDF-"):
        return PDF
    return None


def max_bytes(content_type: str) -> int:
    mib = conf.get_int("LINLI_EVENT_PDF_MAX_MB" if content_type == PDF else "LINLI_EVENT_IMAGE_MAX_MB")
    return mib * 1024 * 1024


def _chunks(upload: File):
    if hasattr(upload, "seek"):
        upload.seek(0)
    if hasattr(upload, "chunks"):
        yield from upload.chunks(CHUNK)
        return
    while True:
        block = upload.read(CHUNK)
        if not block:
            return
        yield block


def validate_upload(upload: File) -> CheckedFile:
    """Check one uploaded file; raises :class:`ValidationError` with a bilingual reason."""
    name = PurePath(getattr(upload, "name", "") or "").name
    extension = PurePath(name).suffix.lower()
    claimed = EXTENSIONS.get(extension)
    if claimed is None:
        raise _error(
            gettext(
                "不支持的文件类型 %(extension_or)s，只能上传 JPG、PNG、WebP 图片或 PDF (only JPEG, PNG, WebP images and PDF files are accepted)"
            )
            % {"extension_or": extension or "(无扩展名)"},
            "upload_type",
        )
    digest = hashlib.sha256()
    size = 0
    limit = max_bytes(claimed)
    tail = b""
    detected = None
    for block in _chunks(upload):
        if not block:
            continue
        if detected is None:
            detected = sniff(block[:16])
            if detected != claimed:
                raise _error(
                    gettext(
                        "文件内容与扩展名 %(extension)s 不符，已拒绝 (the content is not what the extension %(extension)s says)"
                    )
                    % {"extension": extension},
                    "upload_mismatch",
                )
        size += len(block)
        if size > limit:
            raise _error(
                gettext("文件过大，%(kind)s不能超过 %(limit)s MB (the file is larger than %(limit)s MB)")
                % {
                    "kind": "PDF" if claimed == PDF else gettext("图片"),
                    "limit": limit // (1024 * 1024),
                },
                "upload_size",
            )
        digest.update(block)
        # Keep a little of the previous block so a marker split across two blocks is still seen.
        window = tail + block
        pattern = PDF_ACTIVE if claimed == PDF else POLYGLOT_MARKERS
        if pattern.search(window):
            if claimed == PDF:
                raise _error(
                    gettext(
                        "PDF 含有脚本、启动动作或嵌入文件，已拒绝 (the PDF carries scripts, launch actions or embedded files)"
                    ),
                    "upload_active_pdf",
                )
            raise _error(
                gettext("图片中含有脚本或网页代码，已拒绝 (the image carries script or markup)"),
                "upload_polyglot",
            )
        tail = block[-32:]
    if detected is None:
        raise _error(gettext("文件为空 (the file is empty)"), "upload_empty")
    if hasattr(upload, "seek"):
        upload.seek(0)
    return CheckedFile(
        file=upload, name=name[:200], content_type=claimed, size=size, sha256=digest.hexdigest()
    )


def store(event, step, checked: list[CheckedFile], user) -> list:
    """Create :class:`Attachment` rows for files already checked by :func:`validate_upload`."""
    from .models import Attachment

    stored = []
    for item in checked:
        attachment = Attachment(
            event=event,
            step=step,
            original_name=item.name,
            content_type=item.content_type,
            size=item.size,
            sha256=item.sha256,
            uploaded_by=user if getattr(user, "pk", None) else None,
        )
        attachment.file.save(item.name, item.file, save=False)
        attachment.save()
        stored.append(attachment)
    return stored
