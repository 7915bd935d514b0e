"""The pages a community worker uses: upload, dry-run report, confirm, progress, history, downloads."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from linli.core.testing import make_user
from linli.dataio.models import ImportJob
from linli.registry.models import Person

from .builders import csv_bytes, family

pytestmark = [pytest.mark.django_db, pytest.mark.urls("linli.dataio.tests.urls")]


@pytest.fixture
def logged_in(client, staff):
    client.force_login(staff)
    return client


def upload(client, name, content, *, follow=False):
    data = {"kind": "persons", "file": SimpleUploadedFile(name, content)}
    return client.post(reverse("dataio:import"), data, follow=follow)


def test_upload_check_confirm(logged_in, staff):
    page = logged_in.get(reverse("dataio:import"))
    assert page.status_code == 200 and "下载模板" in page.content.decode()
    response = upload(logged_in, "台账.csv", csv_bytes(family("4201050010001")))
    job = ImportJob.objects.get(user=staff)
    assert response.status_code == 302 and response["Location"] == reverse("dataio:job", args=[job.pk])
    detail = logged_in.get(response["Location"]).content.decode()
    assert "校验通过" in detail and 'data-testid="commit"' in detail and "将新增人员" in detail
    assert Person.objects.count() == 0  # the dry run wrote nothing
    done = logged_in.post(reverse("dataio:job_commit", args=[job.pk]))
    assert done.status_code == 302
    job.refresh_from_db()
    assert job.status == "done" and Person.objects.count() == 3
    assert "导入完成" in logged_in.get(reverse("dataio:job", args=[job.pk])).content.decode()
    again = logged_in.post(reverse("dataio:job_commit", args=[job.pk]), follow=True)
    assert "不能导入" in again.content.decode() and Person.objects.count() == 3


def test_errors_are_shown_by_row_column_and_reason(logged_in, staff):
    rows = family("4201050010001")
    rows[1]["ethnicity"] = "火星族"
    rows[2]["phone"] = "123"
    response = upload(logged_in, "bad.csv", csv_bytes(rows), follow=True)
    html = response.content.decode()
    assert 'data-testid="error-table"' in html and '<th class="w-1">行号</th>' in html
    assert "火星族" in html and "联系电话" in html and 'data-testid="commit"' not in html
    job = ImportJob.objects.get(user=staff)
    report = logged_in.get(reverse("dataio:job_errors", args=[job.pk, "csv"]))
    text = b"".join(report.streaming_content).decode("utf-8-sig")
    assert text.splitlines()[0] == "行号 Row,列 Column,原因 Reason" and "火星族" in text
    xlsx = logged_in.get(reverse("dataio:job_errors", args=[job.pk, "xlsx"]))
    assert xlsx.status_code == 200 and xlsx.content.startswith(b"PK")
    assert logged_in.get(reverse("dataio:job_errors", args=[job.pk, "pdf"])).status_code == 404


def test_unsafe_upload_is_refused_on_the_form(logged_in, staff):
    response = upload(logged_in, "macro.xlsm", b"PK\x03\x04whatever")
    assert response.status_code == 200
    assert 'data-testid="upload-error"' in response.content.decode() and "宏" in response.content.decode()
    assert ImportJob.objects.get(user=staff).status == "failed"


def test_oversized_request_is_refused_before_reading(logged_in, settings):
    settings.LINLI_IMPORT_MAX_MB = 1
    response = upload(logged_in, "big.csv", b"x" * (2 * 1024 * 1024))
    assert response.status_code == 413


def test_progress_fragment_polls_while_running_and_refreshes_after(logged_in, staff):
    job = ImportJob.objects.create(user=staff, kind="persons", original_name="a.csv", status="validating",
                                   rows_total=10_000, rows_done=2_000)  # fmt: skip
    fragment = logged_in.get(reverse("dataio:job_progress", args=[job.pk]), HTTP_HX_REQUEST="true")
    html = fragment.content.decode()
    assert 'hx-trigger="every 1s"' in html and "20%" in html and "HX-Refresh" not in fragment
    job.status = "importing"
    job.phase = "write"
    job.save()
    assert "60%" in logged_in.get(reverse("dataio:job_progress", args=[job.pk])).content.decode()
    job.status = "done"
    job.save()
    finished = logged_in.get(reverse("dataio:job_progress", args=[job.pk]), HTTP_HX_REQUEST="true")
    assert finished["HX-Refresh"] == "true" and "hx-trigger" not in finished.content.decode()


def test_jobs_are_private(client, logged_in, staff, community):
    job = ImportJob.objects.create(user=staff, kind="persons", original_name="mine.csv")
    other = make_user("other", "community_staff", community)
    client.force_login(other)
    for name in ("job", "job_progress"):
        assert client.get(reverse(f"dataio:{name}", args=[job.pk])).status_code == 404
    assert client.post(reverse("dataio:job_commit", args=[job.pk])).status_code == 404
    assert "mine.csv" not in client.get(reverse("dataio:jobs")).content.decode()


def test_permissions(client, area_tree):
    assert client.get(reverse("dataio:import")).status_code == 302  # anonymous: to the login page
    client.force_login(make_user("bh", "building_head", area_tree["grids"][0]))
    assert client.get(reverse("dataio:import")).status_code == 403
    assert client.get(reverse("dataio:jobs")).status_code == 403


def test_history_page(logged_in, staff):
    upload(logged_in, "一.csv", csv_bytes(family("4201050010001")))
    html = logged_in.get(reverse("dataio:jobs")).content.decode()
    assert "一.csv" in html and "校验通过" in html


def _patterns(resolver, prefix=""):
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            yield from _patterns(entry, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern), entry.callback


def test_every_route_declares_its_policy():
    routes = [(p, cb) for p, cb in _patterns(get_resolver()) if p.startswith("io/")]
    assert len(routes) == 15
    missing = [p for p, cb in routes if not getattr(cb, "linli_policy", None)]
    assert missing == []


def test_upload_is_csrf_protected(staff):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(staff)
    page = client.get(reverse("dataio:import"))
    token = page.cookies["csrftoken"].value
    refused = upload(client, "a.csv", csv_bytes(family("4201050010001")))
    assert refused.status_code == 403 and not ImportJob.objects.exists()
    data = {"kind": "persons", "file": SimpleUploadedFile("a.csv", csv_bytes(family("4201050010002")))}
    accepted = client.post(reverse("dataio:import"), data, HTTP_X_CSRFTOKEN=token)
    assert accepted.status_code == 302 and ImportJob.objects.count() == 1
