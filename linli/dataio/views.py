"""Pages and downloads of the import/export app. Each view declares its policy (route-policy test)."""

import csv
import io

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.translation import gettext
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from linli.core import permissions
from linli.core.views import policy, require_perm

from . import conf, exporting, jobs, survey, template_files
from .forms import RevealForm, UploadForm
from .models import ImportJob
from .persons import SPECS as IMPORT_SPECS

IMPORT_PERM = "registry.import_person"
RECENT_JOBS = 20


def _own_job(request, pk: int) -> ImportJob:
    """A user sees their own import jobs only; any other id is simply not found."""
    require_perm(request.user, IMPORT_PERM)
    return get_object_or_404(ImportJob.objects.select_related("area"), pk=pk, user=request.user)


# -- import -----------------------------------------------------------------------------------
@policy(IMPORT_PERM)
@csrf_exempt
@login_required
@require_http_methods(["GET", "POST"])
def import_start(request):
    """Upload page. The declared length is checked before the body is read (then CSRF, then the form)."""
    require_perm(request.user, IMPORT_PERM)
    if request.method == "POST":
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > conf.max_upload_bytes() + 64 * 1024:
            limit = conf.max_upload_bytes() // conf.MB
            return HttpResponse(
                gettext("文件超过 %(limit)s MB 上限，请拆分后导入 (the upload exceeds %(limit)s MB)")
                % {"limit": limit},
                status=413,
            )
    return _import_start(request)


@csrf_protect
def _import_start(request):
    form = UploadForm(request.POST or None, request.FILES or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            job = jobs.create_job(
                user=request.user, upload=form.cleaned_data["file"], kind=form.cleaned_data["kind"],
                area=form.cleaned_data["area"],
            )  # fmt: skip
        except jobs.JobRefused as exc:
            form.add_error("file", str(exc))
        else:
            jobs.start_validation(job)
            return redirect("dataio:job", pk=job.pk)
    recent = ImportJob.objects.filter(user=request.user)[:RECENT_JOBS]
    return render(
        request,
        "dataio/import.html",
        {"form": form, "jobs": recent, "specs": IMPORT_SPECS, "max_mb": conf.max_upload_bytes() // conf.MB,
         "max_rows": conf.max_rows()},
    )  # fmt: skip


@policy(IMPORT_PERM)
@login_required
@require_GET
def job_list(request):
    require_perm(request.user, IMPORT_PERM)
    return render(request, "dataio/jobs.html", {"jobs": ImportJob.objects.filter(user=request.user)[:200]})


@policy(IMPORT_PERM, model="dataio.importjob")
@login_required
@require_GET
def job_detail(request, pk: int):
    job = _own_job(request, pk)
    return render(request, "dataio/job.html", {"job": job, "spec": IMPORT_SPECS.get(job.kind)})


@policy(IMPORT_PERM, model="dataio.importjob")
@login_required
@require_GET
def job_progress(request, pk: int):
    """The htmx-polled progress bar; once the job stops running, the page reloads itself."""
    job = _own_job(request, pk)
    response = render(request, "dataio/_progress.html", {"job": job})
    if not job.running and request.headers.get("HX-Request"):
        response["HX-Refresh"] = "true"
    return response


@policy(IMPORT_PERM, model="dataio.importjob")
@login_required
@require_POST
def job_commit(request, pk: int):
    job = _own_job(request, pk)
    if not job.can_commit:
        messages.warning(
            request, gettext("该任务不能导入：只有校验通过、尚未导入的文件可以确认导入 (not committable)")
        )
        return redirect("dataio:job", pk=job.pk)
    jobs.start_commit(job)
    return redirect("dataio:job", pk=job.pk)


@policy(IMPORT_PERM, model="dataio.importjob")
@login_required
@require_GET
def job_errors(request, pk: int, fmt: str):
    """The full error report: the stored CSV as is, or converted to xlsx."""
    job = _own_job(request, pk)
    if fmt not in ("csv", "xlsx") or not job.error_report:
        raise Http404(gettext("没有错误报告 (no error report)"))
    stem = f"错误报告_{job.original_name.rsplit('.', 1)[0][:40]}_{job.pk}"
    if fmt == "csv":
        return FileResponse(job.error_report.open("rb"), as_attachment=True, filename=f"{stem}.csv",
                            content_type="text/csv; charset=utf-8")  # fmt: skip
    with job.error_report.open("rb") as fh:
        text = fh.read().decode("utf-8-sig")
    content = _errors_xlsx(list(csv.reader(io.StringIO(text))))
    response = HttpResponse(content, content_type=XLSX_TYPE)
    response["Content-Disposition"] = content_disposition_header(True, f"{stem}.xlsx")
    return response


XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _errors_xlsx(rows: list[list[str]]) -> bytes:
    import xlsxwriter

    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(
        buffer, {"in_memory": True, "strings_to_formulas": False, "strings_to_numbers": False}
    )
    sheet = workbook.add_worksheet("错误")
    bold = workbook.add_format({"bold": True, "bg_color": "#FCE4D6", "border": 1})
    sheet.set_column(0, 0, 10)
    sheet.set_column(1, 1, 14)
    sheet.set_column(2, 2, 90)
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            if r and c == 0 and value.isdigit():
                sheet.write_number(r, c, int(value))
            else:
                sheet.write_string(r, c, exporting.neutralise(value), bold if r == 0 else None)
    workbook.close()
    return buffer.getvalue()


@policy(IMPORT_PERM)
@login_required
@require_GET
def template_download(request, kind: str, fmt: str):
    require_perm(request.user, IMPORT_PERM)
    spec = IMPORT_SPECS.get(kind)
    if spec is None or fmt not in ("csv", "xlsx"):
        raise Http404
    if fmt == "xlsx":
        response = HttpResponse(template_files.xlsx_template(spec), content_type=XLSX_TYPE)
    else:
        response = HttpResponse(template_files.csv_template(spec), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = content_disposition_header(True, f"{spec.file_stem}.{fmt}")
    return response


# -- export -----------------------------------------------------------------------------------
def _export_view(spec: exporting.ExportSpec):
    @policy(spec.perm)
    @login_required
    @require_GET
    def view(request):
        """Download the list with the list's own query parameters; ``?format=xlsx|csv&encoding=gbk``."""
        require_perm(request.user, spec.perm)
        fmt = request.GET.get("format", "xlsx")
        if fmt not in ("xlsx", "csv"):
            return HttpResponseBadRequest("format 须为 xlsx 或 csv (format must be xlsx or csv)")
        try:
            export = exporting.prepare(spec, request.user, request.GET, request=request)
        except exporting.ExportError as exc:
            return HttpResponseBadRequest(str(exc))
        return _deliver(request, export, fmt)

    view.__name__ = f"export_{spec.key}"
    view.__doc__ = f"Export the {spec.key} list."
    return view


def _deliver(request, export: exporting.Export, fmt: str):
    exporting.audit(export, fmt, request=request)
    if fmt == "csv":
        return exporting.csv_response(export, encoding=request.GET.get("encoding", "utf-8"))
    return exporting.xlsx_response(export)


export_persons = _export_view(exporting.SPECS["persons"])
export_households = _export_view(exporting.SPECS["households"])
export_houses = _export_view(exporting.SPECS["houses"])
export_buildings = _export_view(exporting.SPECS["buildings"])


@policy("registry.reveal_person")
@login_required
@require_http_methods(["GET", "POST"])
def export_persons_revealed(request):
    """Export persons with full ID and phone numbers: asks for the purpose, checks the reveal
    permission, and records both the export and the reveal."""
    spec = exporting.SPECS["persons"]
    require_perm(request.user, spec.perm)
    require_perm(request.user, spec.reveal_perm)
    form = RevealForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            purpose = form.cleaned_data["purpose"]
            export = exporting.prepare(
                spec, request.user, request.GET, reveal=True, purpose=purpose, request=request
            )
        except exporting.ExportError as exc:
            form.add_error(None, str(exc))
        else:
            return _deliver(request, export, form.cleaned_data["format"])
    return render(request, "dataio/reveal.html", {"form": form, "query": request.GET.urlencode()})


# -- survey report ----------------------------------------------------------------------------
@policy(survey.PERM)
@login_required
@require_GET
def survey_report(request):
    require_perm(request.user, survey.PERM)
    table = survey.survey(request.user)
    context = {"table": table, "columns": survey.COLUMNS, "can_refresh": table.snapshot is not None}
    return render(request, "dataio/survey.html", context)


@policy(survey.PERM)
@login_required
@require_POST
def stats_refresh(request):
    """Recompute the precomputed community statistics of the user's own area, now."""
    from . import stats

    require_perm(request.user, survey.PERM)
    coarse, _ = stats.split(permissions.scope_paths(request.user, survey.PERM))
    stats.refresh(coarse)
    messages.success(request, gettext("统计数据已刷新"))
    return redirect("home" if request.POST.get("back") == "home" else "dataio:survey")


@policy(survey.PERM)
@login_required
@require_GET
def survey_download(request):
    from linli.audit import events, record

    require_perm(request.user, survey.PERM)
    at = timezone.now()
    table = survey.survey(request.user)
    content = survey.survey_xlsx(table, user=request.user, at=at)
    name = f"社区基本情况调查表_{timezone.localtime(at):%Y%m%d-%H%M%S}_{request.user.username}.xlsx"
    record(events.EXPORT, user=request.user, request=request,
           detail={"what": "report.community_survey", "format": "xlsx", "rows": len(table.lines), "file": name})  # fmt: skip
    response = HttpResponse(content, content_type=XLSX_TYPE)
    response["Content-Disposition"] = content_disposition_header(True, name)
    return response
