"""The measuring side: ``python -m bench.worker SECTION --out result.json [options]``.

Run by :mod:`bench.cli` in a child process whose environment points at one prepared database;
writes its measurements as JSON to ``--out``. Every section measures server-side work only: the
import pipeline as the background job runs it, pages and API calls through Django's test client
in this process (no network, no client), exports as the download views stream them.
"""

import argparse
import csv
import json
import os
import random
import resource
import sys
import tempfile
import time
from pathlib import Path


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def rss_mb() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 2**20


def setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "linli.settings")
    import django

    django.setup()


# -- import -------------------------------------------------------------------------------------
def import_setup(args) -> dict:
    from linli.dataio.bench_import import bench_area, bench_user

    community = bench_area(args.grids)
    bench_user(community)
    return {"community": community.pk}


def ledger(args) -> dict:
    """The ledger file (the generator of ``linli.dataio.bench_import``), and its .xlsx twin."""
    from linli.dataio.bench_import import write_ledger, write_xlsx

    csv_path = Path(args.file)
    started = time.perf_counter()
    households = write_ledger(csv_path, args.rows, args.grids, args.seed)
    result = {"csv": str(csv_path), "households": households, "csv_seconds": time.perf_counter() - started}
    if args.xlsx:
        started = time.perf_counter()
        xlsx_path = write_xlsx(csv_path)
        result.update(xlsx=str(xlsx_path), xlsx_seconds=time.perf_counter() - started)
    return result


def _allow_big_files(rows: int) -> None:
    from django.conf import settings

    from linli.dataio import conf

    settings.LINLI_IMPORT_MAX_ROWS = max(rows + 10, conf.max_rows())
    settings.LINLI_IMPORT_MAX_MB = max(4096, conf.max_upload_bytes() // conf.MB)
    settings.LINLI_IMPORT_MAX_UNZIPPED_MB = max(4096, conf.max_unzipped_bytes() // conf.MB)
    settings.MEDIA_ROOT = Path(tempfile.mkdtemp(prefix="linli-bench-media-"))


def run_import(args) -> dict:
    """One import through the real pipeline: upload checks, dry run, then commit (check + write)."""
    from django.core.files import File
    from django.db import connection

    from linli.core.models import ObjectChange
    from linli.dataio import jobs
    from linli.dataio.bench_import import bench_area, bench_user
    from linli.registry.models import Household, Person

    path = Path(args.file)
    _allow_big_files(args.rows)
    user = bench_user(bench_area(args.grids))
    base_rss = rss_mb()
    people, changes = Person.objects.count(), ObjectChange.objects.count()
    with open(path, "rb") as fh:
        job = jobs.create_job(user=user, upload=File(fh, name=f"bench{path.suffix}"), kind="persons")
    started = time.perf_counter()
    job = jobs.validate(job.pk)
    dry_run = time.perf_counter() - started
    if job.status != "validated":
        return {"status": job.status, "errors": job.dry_run.get("errors", [])[:10], "message": job.message}
    jobs.request_commit(job)
    started, cpu = time.perf_counter(), time.process_time()
    job = jobs.commit(job.pk)
    commit, cpu = time.perf_counter() - started, time.process_time() - cpu
    result = {
        "status": job.status,
        "message": job.message,
        "rows": job.rows_total,
        "dry_run_seconds": dry_run,
        "commit_seconds": commit,
        "commit_cpu_seconds": cpu,
        "base_rss_mb": base_rss,
        "peak_rss_mb": peak_rss_mb(),
        "persons_added": Person.objects.count() - people,
        "households": Household.objects.count(),
        "history_added": ObjectChange.objects.count() - changes,
        "vendor": connection.vendor,
    }
    if args.format == "xlsx":
        result["parse_seconds"] = _parse_only(path)
    if args.csv_reference:
        result["copy_seconds"] = _copy_reference(Path(args.csv_reference))
    return result


def _parse_only(path: Path) -> float:
    """Reading every cell of the file and nothing else: the floor under any .xlsx import."""
    from linli.dataio.reading import Source

    started = time.perf_counter()
    for _ in Source(path, "xlsx").rows():
        pass
    return time.perf_counter() - started


def _copy_reference(csv_path: Path) -> float:
    """The same rows into a plain table: ``COPY`` on PostgreSQL, one prepared INSERT on SQLite."""
    from django.db import connection, transaction

    with open(csv_path, encoding="utf-8-sig", newline="") as fh:
        header = next(csv.reader(fh))
    columns = [f"c{i}" for i in range(len(header))]
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_plain")
        cursor.execute(f"CREATE TABLE bench_plain ({', '.join(c + ' text' for c in columns)})")
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with (
                open(csv_path, "rb") as fh,
                cursor.copy(
                    "COPY bench_plain FROM STDIN WITH (FORMAT csv, HEADER true, ENCODING 'UTF8')"
                ) as copy,
            ):
                while block := fh.read(1 << 20):
                    copy.write(block)
        else:
            with open(csv_path, encoding="utf-8-sig", newline="") as fh:
                reader = csv.reader(fh)
                next(reader)
                marks = ", ".join("%s" for _ in columns)
                cursor.executemany(f"INSERT INTO bench_plain VALUES ({marks})", reader)  # noqa: S608
    took = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM bench_plain")
        (count,) = cursor.fetchone()
        cursor.execute("DROP TABLE bench_plain")
    if not count:
        raise RuntimeError("the reference copied no rows")
    return took


def run_dje(args) -> dict:
    """django-import-export importing the same rows into the same model, as a Django team would."""
    import tablib
    from import_export import fields, resources, widgets

    from linli.areas.models import Area
    from linli.core.context import Channel, acting
    from linli.dataio.bench_import import bench_area, bench_user
    from linli.dataio.columns import load_code_table
    from linli.dataio.lookups import GridResolver
    from linli.dataio.persons import BY_KEY, COLUMNS, PERSON_CODE_FIELDS
    from linli.registry.models import Person, blind

    community = bench_area(args.grids)
    user = bench_user(community)
    grids = GridResolver([community.path])
    tables = {key: load_code_table(BY_KEY[key].table) for key in PERSON_CODE_FIELDS}
    header = [c.key for c in COLUMNS]
    data = tablib.Dataset(headers=[*PERSON_CODE_FIELDS, "name", "id_number", "phone", "registered_address",
                                   "area", "id_number_bidx"])  # fmt: skip
    with open(args.file, encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh)
        next(reader)
        grid = None
        for n, row in enumerate(reader):
            if n >= args.rows:
                break
            cells = dict(zip(header, row, strict=False))
            grid = grids.resolve(cells["grid"]) if cells["grid"] else grid
            codes = [tables[k].resolve(cells[k]) or "" if cells[k] else "" for k in PERSON_CODE_FIELDS]
            data.append([*codes, cells["name"], cells["id_number"], cells["phone"], cells["registered_address"],
                         grid.id, blind("id", cells["id_number"])])  # fmt: skip

    class PersonResource(resources.ModelResource):
        area = fields.Field(attribute="area", column_name="area", widget=widgets.ForeignKeyWidget(Area))

        class Meta:
            model = Person
            import_id_fields = ["id_number_bidx"]  # find an existing person by the ID's blind index
            fields = [*PERSON_CODE_FIELDS, "name", "id_number", "phone", "registered_address", "area",
                      "id_number_bidx"]  # fmt: skip

    resource = PersonResource()
    before = Person.objects.count()
    started, cpu = time.perf_counter(), time.process_time()
    with acting(user, channel=Channel.IMPORT):
        result = resource.import_data(data, dry_run=False, use_transactions=True, raise_errors=True)
    took, cpu = time.perf_counter() - started, time.process_time() - cpu
    added = Person.objects.count() - before
    return {"rows": len(data), "seconds": took, "cpu_seconds": cpu, "persons_added": added, "errors": result.has_errors(),
            "peak_rss_mb": peak_rss_mb()}  # fmt: skip


# -- pages and API --------------------------------------------------------------------------------
def bench_users() -> dict:
    """Demo accounts by scope, plus a district-wide officer for district dashboards and full exports."""
    from linli.accounts.models import Role, RoleAssignment, User
    from linli.areas.models import Area
    from linli.registry.demo import DISTRICT_CODE

    users = {key: User.objects.get(username=name) for key, name in
             [("grid", "gridworker"), ("community", "community"), ("subdistrict", "subdistrict")]}  # fmt: skip
    district, created = User.objects.get_or_create(
        username="bench_district", defaults={"full_name": "基准区级"}
    )
    if created:
        district.set_unusable_password()
        district.save()
        RoleAssignment.objects.create(user=district, role=Role.objects.get(key="subdistrict_officer"),
                                      area=Area.objects.get(code=DISTRICT_CODE))  # fmt: skip
    users["district"] = district
    return users


def client_for(user):
    """A test client with ``user``'s session (and a verified second factor where the role needs one)."""
    from django.test import Client
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from linli.core import permissions

    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(user)
    if permissions.requires_two_factor(user):
        device = TOTPDevice.objects.filter(user=user, name="bench").first() or TOTPDevice.objects.create(
            user=user, name="bench", confirmed=True
        )
        session = client.session
        session["otp_device_id"] = device.persistent_id
        session.save()
    return client


def _terms(user, n: int, seed: int) -> dict[str, list[str]]:
    """Search terms people would type, taken from residents in ``user``'s scope."""
    from linli.core import permissions
    from linli.registry.models import Membership, Person

    people = permissions.restrict(Person.objects.filter(status="active"), user)
    total = people.count()
    rng = random.Random(seed)  # noqa: S311 - sampling
    picks = [people.order_by("pk")[rng.randrange(total)] for _ in range(n)]
    numbers = dict(
        Membership.objects.filter(person__in=picks, end_date__isnull=True).values_list("person_id",
                                                                                       "household__number")
    )  # fmt: skip
    return {
        "name": [p.name for p in picks],
        "initials": [p.pinyin_initials for p in picks if p.pinyin_initials],
        "id_tail4": [p.id_number[-4:] for p in picks if p.id_number],
        "phone_tail4": [p.phone[-4:] for p in picks if p.phone],
        "household": [numbers[p.pk] for p in picks if p.pk in numbers],
    }


def _time(client, url: str, samples: int, warmup: int = 2) -> list[float]:
    """(wall, CPU) milliseconds per request, server side (the test client calls the WSGI handler in-process)."""
    for _ in range(warmup):
        response = client.get(url)
        _drain(response, url)
    times = []
    for _ in range(samples):
        started, cpu = time.perf_counter(), time.process_time()
        response = client.get(url)
        _drain(response, url)
        times.append(((time.perf_counter() - started) * 1000, (time.process_time() - cpu) * 1000))
    return times


def _drain(response, url: str) -> None:
    if response.status_code != 200:
        raise RuntimeError(f"GET {url} answered {response.status_code}")
    if response.streaming:
        for _ in response.streaming_content:
            pass


def _time_terms(client, base: str, terms: list[str], samples: int) -> list[float]:
    from urllib.parse import quote

    times = []
    for i in range(samples):
        times += _time(client, base + quote(terms[i % len(terms)]), 1, warmup=1 if i == 0 else 0)
    return times


def web(args) -> dict:
    """Search, lists and dashboards: per run, the p50 and p95 of each page in milliseconds."""
    users = bench_users()
    clients = {key: client_for(user) for key, user in users.items()}
    terms = _terms(users["subdistrict"], 40, args.seed)
    n = args.samples
    pages: list[tuple[str, str, str, object]] = [
        # (key, label, section, callable returning samples)
        (
            "healthz",
            "trivial endpoint /healthz",
            "reference",
            lambda: _time(clients["subdistrict"], "/healthz", n),
        ),
        # Floors of a signed-in request, beside /healthz (no session, no user, one SELECT 1): the
        # API root (token or session, grants, DRF) and an API list of one row (plus the scoped
        # count and one serialised resident) — what a 50-row page adds is the rest.
        ("api_root", "signed-in trivial API call /api/v1/", "reference",
         lambda: _time(clients["subdistrict"], "/api/v1/", n)),
        ("api_list_one", "API person list of 1 row, sub-district user", "reference",
         lambda: _time(clients["subdistrict"], "/api/v1/persons/?limit=1", n)),
    ]  # fmt: skip
    for key in ("name", "initials", "id_tail4", "phone_tail4", "household"):
        pages.append(
            (
                f"search_{key}",
                f"search {key} (sub-district user, page)",
                "search",
                lambda k=key: _time_terms(clients["subdistrict"], "/registry/persons/?q=", terms[k], n),
            )
        )
        pages.append((f"api_search_{key}", f"search {key} (sub-district user, API)", "search",
                      lambda k=key: _time_terms(clients["subdistrict"], "/api/v1/persons/?q=", terms[k], n)))  # fmt: skip
    for scope in ("grid", "community", "subdistrict"):
        c = clients[scope]
        deep = _deep_page(users[scope])
        pages += [
            (f"list_{scope}", f"person list, {scope} user, page 1", "lists",
             lambda c=c: _time(c, "/registry/persons/", n)),
            (f"list_{scope}_deep", f"person list, {scope} user, page {deep}", "lists",
             lambda c=c, deep=deep: _time(c, f"/registry/persons/?page={deep}", n)),
            (f"list_{scope}_filtered", f"filtered list (women 60+), {scope} user", "lists",
             lambda c=c: _time(c, "/registry/persons/?sex=2&age_min=60", n)),
            (f"households_{scope}", f"household list, {scope} user", "lists",
             lambda c=c: _time(c, "/registry/households/", n)),
            (f"api_list_{scope}", f"API person list, {scope} user", "lists",
             lambda c=c: _time(c, "/api/v1/persons/", n)),
        ]  # fmt: skip
    for scope in ("community", "subdistrict", "district"):
        c = clients[scope]
        pages += [
            (f"overview_{scope}", f"population overview (home), {scope}", "dashboards",
             lambda c=c: _time(c, "/", n)),
            (f"metrics_{scope}", f"event metrics, {scope}", "dashboards",
             lambda c=c: _time(c, "/events/metrics/", n)),
            (f"survey_{scope}", f"community survey table, {scope}", "dashboards",
             lambda c=c: _time(c, "/io/reports/community-survey/", max(3, n // 4))),
        ]  # fmt: skip
    only = set(args.only.split(",")) if args.only else None
    results: dict[str, dict] = {}
    for run in range(args.runs):
        for key, label, section, measure in pages:
            if only and section not in only and section != "reference":
                continue
            samples = measure()
            wall, cpu = [w for w, _ in samples], [c for _, c in samples]
            entry = results.setdefault(key, {"label": label, "section": section, "p50": [], "p95": [],
                                             "cpu_p50": []})  # fmt: skip
            entry["p50"].append(_pct(wall, 50))
            entry["p95"].append(_pct(wall, 95))
            entry["cpu_p50"].append(_pct(cpu, 50))  # this process's CPU: the app's share, load-proof
        print(f"    web run {run + 1}/{args.runs} done", file=sys.stderr, flush=True)
    from linli.registry.models import Person

    return {"pages": results, "people": Person.objects.filter(status="active").count()}


def _deep_page(user, wanted: int = 20, per_page: int = 50) -> int:
    """Page 20 of the user's list, or the last page when there are fewer."""
    from linli.core import permissions
    from linli.registry.models import Person

    total = permissions.restrict(Person.objects.filter(status="active"), user).count()
    return max(1, min(wanted, -(-total // per_page)))


def _pct(samples: list[float], p: float) -> float:
    from bench.figures import percentile

    return percentile(samples, p)


def export(args) -> dict:
    """All residents of the district through the export view: time, size and peak memory."""
    users = bench_users()
    client = client_for(users["district"])
    base = rss_mb()
    started = time.perf_counter()
    response = client.get(f"/io/export/persons/?format={args.format}")
    size = 0
    if response.status_code != 200:
        raise RuntimeError(f"export answered {response.status_code}")
    body = response.streaming_content if response.streaming else [response.content]
    for block in body:
        size += len(block)
    took = time.perf_counter() - started
    from linli.registry.models import Person

    return {"seconds": took, "bytes": size, "base_rss_mb": base, "peak_rss_mb": peak_rss_mb(),
            "rows": Person.objects.count()}  # fmt: skip


# -- throughput plan ------------------------------------------------------------------------------
def plan(args) -> dict:
    """API tokens and ids in scope for the load test's simulated staff (see bench/locustfile.py)."""
    from linli.accounts.models import ApiToken, RoleAssignment
    from linli.areas.models import Area
    from linli.core import permissions
    from linli.events.models import EventCategory
    from linli.registry.models import Person

    users = bench_users()
    staff = []
    rng = random.Random(args.seed)  # noqa: S311
    for key in ("grid", "community"):
        user = users[key]
        ApiToken.objects.filter(user=user, name="bench").delete()
        _, raw = ApiToken.issue(user, "bench")
        ids = list(permissions.restrict(Person.objects.filter(status="active"), user).values_list("pk", flat=True)
                   .order_by("pk")[:5000])  # fmt: skip
        terms = _terms(user, 30, rng.randrange(10**6))
        staff.append({"user": user.username, "token": raw, "person_ids": ids, "terms": terms})
    leader = users["community"]
    area = RoleAssignment.objects.filter(user=leader).first().area
    grids = list(
        Area.objects.filter(level="grid").filter(area.subtree_q("path")).values_list("pk", flat=True)[:50]
    )
    category = EventCategory.objects.filter(active=True).order_by("pk").values_list("code", flat=True).first()
    return {"staff": staff, "event_reporter": leader.username, "grids": grids, "category": category}


SECTIONS = {
    "import-setup": import_setup,
    "ledger": ledger,
    "import": run_import,
    "dje": run_dje,
    "web": web,
    "export": export,
    "plan": plan,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("section", choices=sorted(SECTIONS))
    parser.add_argument("--out", required=True)
    parser.add_argument("--file", default="")
    parser.add_argument("--csv-reference", default="")
    parser.add_argument("--format", default="csv")
    parser.add_argument("--rows", type=int, default=0)
    parser.add_argument("--grids", type=int, default=50)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--xlsx", action="store_true")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--samples", type=int, default=20)
    parser.add_argument("--only", default="")
    args = parser.parse_args(argv)
    setup_django()
    result = SECTIONS[args.section](args)
    Path(args.out).write_text(json.dumps(result, ensure_ascii=False, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
