"""Measure the import pipeline: ``python -m linli.dataio.bench_import --rows 100000``.

Generates a valid household ledger (CSV, about three people per household, a third of them in
registered houses) for a scratch area tree, then runs the dry run and the commit against the
configured database, printing rows per second and the process's peak RSS after each step.
It writes to the database it is pointed at: use a scratch one (``DATABASE_URL=…/linli_bench``,
after ``linli init``). A second run with the same ``--seed`` measures the upsert path (every
person found, nothing changed); a different seed adds new people.
"""

import argparse
import cProfile
import csv
import datetime as dt
import os
import pstats
import random
import resource
import sys
import tempfile
import time
from pathlib import Path


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "linli.settings")
    import django

    django.setup()


def bench_area(grids: int):
    """A district → sub-district → community → grids tree of its own, with a building of houses per grid."""
    from linli.areas.models import Area, Building, House, Unit
    from linli.core.context import Channel, acting

    with acting(None, channel=Channel.CLI):
        community = Area.objects.filter(name="基准测试社区", level="community").first()
        if community is None:
            code = next(
                f"4299{n:02d}" for n in range(100) if not Area.objects.filter(code=f"4299{n:02d}").exists()
            )
            district = Area.objects.add_root(instance=Area(level="district", name="基准测试区", code=code))
            sub = district.add_area(name="基准测试街道", code=f"{code}001")
            community = sub.add_area(name="基准测试社区", code=f"{code}001001")
        existing = Area.objects.get_children(community).count()
        for g in range(existing + 1, grids + 1):
            grid = community.add_area(name=f"{g}号网格", grid_number=g)
            building = Building.objects.create(area=grid, name=f"{g}栋", street_address=f"基准路{g}号")
            unit = Unit.objects.create(area=grid, building=building, name="1单元")
            for floor in range(1, 11):
                for room in range(1, 5):
                    House.objects.create(
                        area=grid, building=building, unit=unit, room=f"{floor}{room:02d}", floor=floor
                    )
    return community


def bench_user(community):
    from linli.accounts.models import Role, RoleAssignment, User

    user, created = User.objects.get_or_create(username="bench_importer", defaults={"full_name": "导入基准"})
    if created:
        user.set_unusable_password()
        user.save()
        RoleAssignment.objects.create(user=user, role=Role.objects.get(key="community_staff"), area=community)
    return user


def write_ledger(path: Path, rows: int, grids: int, seed: int, phone_seed: int | None = None) -> int:
    """A valid ledger of ``rows`` people; returns the number of households.

    The same ``seed`` gives the same people; a different ``phone_seed`` changes their phone
    numbers only, to measure updates.
    """
    from linli.core.validators import compose_id_number
    from linli.dataio.persons import COLUMNS

    rng = random.Random(seed)  # noqa: S311 - test data
    phones = random.Random(seed if phone_seed is None else phone_seed)  # noqa: S311
    surnames = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
    given = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国志红玉兰文辉波宁"
    ethnicities = ["汉族"] * 18 + ["回族", "土家族"]
    education = ["大学本科毕业", "大学专科毕业", "普通高中毕业", "初中毕业", "小学毕业"]
    relations = ["配偶", "子", "女", "母亲", "孙子"]
    start = dt.date(1935, 1, 1) + dt.timedelta(days=300 * (seed % 100))
    households = 0
    written = 0
    with open(path, "w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow([c.header for c in COLUMNS])
        while written < rows:
            households += 1
            size = min(rng.choice([1, 2, 3, 3, 3, 4, 4, 5]), rows - written)
            grid = rng.randint(1, grids)
            surname = rng.choice(surnames)
            house = f"{grid}-1-{rng.randint(1, 10)}{rng.randint(1, 4):02d}" if households % 3 == 0 else ""
            for member in range(size):
                index = written
                sex = "1" if (member == 0 or rng.random() < 0.5) else "2"
                birth = start + dt.timedelta(days=index // 450)
                sequence = (index % 450) * 2 + (1 if sex == "1" else 0)
                id_number = compose_id_number("420105", birth, sequence)
                writer.writerow(
                    [
                        f"B{seed:03d}{households:08d}",
                        "户主" if member == 0 else relations[(member - 1) % len(relations)],
                        surname + "".join(rng.choice(given) for _ in range(rng.randint(1, 2))),
                        id_number,
                        "男" if sex == "1" else "女",
                        rng.choice(ethnicities),
                        "",
                        f"13{phones.randint(0, 9)}{phones.randint(10_000_000, 99_999_999)}"
                        if rng.random() < 0.8
                        else "",
                        rng.choice(["群众", "中共党员", "共青团员"]),
                        rng.choice(education),
                        rng.choice(["已婚", "未婚"]),
                        "户籍人口",
                        "人户一致",
                        f"湖北省武汉市汉阳区基准路{grid}号",
                        house,
                        f"{grid}号网格" if member == 0 else "",
                        "家庭户",
                        "",
                    ]
                )
                written += 1
    return households


def write_xlsx(csv_path: Path) -> Path:
    """The ledger's .xlsx twin (xlsxwriter's constant-memory mode: inline strings, like the harness)."""
    import xlsxwriter

    xlsx_path = csv_path.with_suffix(".xlsx")
    workbook = xlsxwriter.Workbook(str(xlsx_path), {"constant_memory": True, "strings_to_numbers": False})
    sheet = workbook.add_worksheet("人员及户")
    with open(csv_path, encoding="utf-8-sig", newline="") as fh:
        for r, row in enumerate(csv.reader(fh)):
            for c, value in enumerate(row):
                if value:
                    sheet.write_string(r, c, value)
    workbook.close()
    return xlsx_path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--grids", type=int, default=20)
    parser.add_argument(
        "--seed", type=int, default=1, help="same seed, same people (a second run measures upserts)"
    )
    parser.add_argument(
        "--phone-seed", type=int, default=None, help="vary phone numbers only (measures updates)"
    )
    parser.add_argument("--dry-run-only", action="store_true")
    parser.add_argument("--xlsx", action="store_true", help="import the ledger as an .xlsx (inline strings)")
    parser.add_argument("--ledger", type=Path, help="import this ledger file (made by an earlier run) as is")
    parser.add_argument("--profile", action="store_true", help="print the top functions of the commit")
    args = parser.parse_args(argv)
    setup_django()

    from django.conf import settings
    from django.core.files import File
    from django.db import connection

    from linli.core.models import ObjectChange
    from linli.dataio import conf, jobs
    from linli.registry.models import Person

    settings.LINLI_IMPORT_MAX_ROWS = max(args.rows, conf.max_rows())
    settings.LINLI_IMPORT_MAX_MB = max(200, conf.max_upload_bytes() // conf.MB)
    settings.LINLI_IMPORT_MAX_UNZIPPED_MB = max(4096, conf.max_unzipped_bytes() // conf.MB)  # a 1M-row .xlsx
    work = Path(tempfile.mkdtemp(prefix="linli-bench-"))
    settings.MEDIA_ROOT = work / "media"

    community = bench_area(args.grids)
    user = bench_user(community)
    ledger = work / "ledger.csv"
    started = time.perf_counter()
    print(f"database: {connection.vendor} {settings.DATABASES['default']['NAME']}")
    if args.ledger:
        ledger = args.ledger
    else:
        households = write_ledger(ledger, args.rows, args.grids, args.seed, args.phone_seed)
        print(f"generated {args.rows} rows in {households} households, {ledger.stat().st_size / 1e6:.1f} MB "
              f"({time.perf_counter() - started:.1f} s)")  # fmt: skip
    people_before = Person.objects.count()
    changes_before = ObjectChange.objects.count()

    if args.xlsx and ledger.suffix != ".xlsx":
        ledger = write_xlsx(ledger)
        print(f"as .xlsx: {ledger.stat().st_size / 1e6:.1f} MB; peak RSS so far {peak_rss_mb():.0f} MB")
    with open(ledger, "rb") as fh:
        job = jobs.create_job(user=user, upload=File(fh, name=f"bench{ledger.suffix}"), kind="persons")
    started, cpu = time.perf_counter(), time.process_time()
    job = jobs.validate(job.pk)
    took, cpu = time.perf_counter() - started, time.process_time() - cpu
    print(f"dry run: {job.status}, {job.rows_total} rows in {took:.1f} s = {job.rows_total / took:,.0f} rows/s "
          f"(CPU {cpu:.1f} s = {job.rows_total / cpu:,.0f} rows per CPU-second); peak RSS {peak_rss_mb():.0f} MB")  # fmt: skip
    if job.status != "validated":
        print("errors:", job.dry_run.get("errors", [])[:10], file=sys.stderr)
        return 1
    print(f"  would create {job.dry_run['counts'].get('persons_created', 0)}, "
          f"update {job.dry_run['counts'].get('persons_updated', 0)}, "
          f"leave {job.dry_run['counts'].get('persons_unchanged', 0)} unchanged")  # fmt: skip
    if args.dry_run_only:
        return 0
    jobs.request_commit(job)
    profiler = cProfile.Profile() if args.profile else None
    started, cpu = time.perf_counter(), time.process_time()
    if profiler:
        profiler.enable()
    job = jobs.commit(job.pk)
    if profiler:
        profiler.disable()
    took, cpu = time.perf_counter() - started, time.process_time() - cpu
    print(f"commit (check + write): {job.status}, {job.rows_total} rows in {took:.1f} s = "
          f"{job.rows_total / took:,.0f} rows/s (CPU {cpu:.1f} s = {job.rows_total / cpu:,.0f} rows per CPU-second); "
          f"peak RSS {peak_rss_mb():.0f} MB")  # fmt: skip
    print(f"  {job.message}")
    print(
        f"  persons +{Person.objects.count() - people_before}, history rows +{ObjectChange.objects.count() - changes_before}"
    )
    if profiler:
        pstats.Stats(profiler).sort_stats(os.environ.get("BENCH_SORT", "cumulative")).print_stats(30)
    return 0 if job.status == "done" else 1


if __name__ == "__main__":
    sys.exit(main())
