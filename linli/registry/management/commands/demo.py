import time

from django.core.management.base import BaseCommand, CommandError

from linli.areas.models import Area, Building, House
from linli.core import bulk, context
from linli.core.models import ObjectChange
from linli.events.demo import generate_events
from linli.events.models import Event
from linli.grid.demo import generate_grid_work
from linli.grid.models import DiaryEntry, Patrol, Visit
from linli.registry.demo import (
    DEFAULT_BATCH_HOUSEHOLDS,
    DEFAULT_PEOPLE,
    DEFAULT_SEED,
    DISTRICT_CODE,
    DISTRICT_NAME,
    generate,
)
from linli.registry.models import GroupMembership, Household, LifeEvent, Membership, Person


class Command(BaseCommand):
    help = (
        "Fill an empty database with a realistic demo district (汉阳区): areas, houses, households, people."
    )

    def add_arguments(self, parser):
        parser.add_argument("--people", type=int, default=DEFAULT_PEOPLE, help="about how many residents")
        parser.add_argument(
            "--seed", type=int, default=DEFAULT_SEED, help="the same seed gives the same people"
        )
        parser.add_argument(
            "--if-empty", action="store_true", help="do nothing if the database already has people"
        )
        parser.add_argument(
            "--event-days",
            type=int,
            default=90,
            help="days of event history to play through the workflow (0: none)",
        )
        parser.add_argument(
            "--batch-size",
            type=int,
            default=DEFAULT_BATCH_HOUSEHOLDS,
            help="households written per transaction (and per progress line)",
        )

    def handle(self, *args, people, seed, if_empty, batch_size, event_days, **options):
        if people < 1 or batch_size < 1:
            raise CommandError("--people 和 --batch-size 须为正数 (must be positive)")
        if Person.objects.exists():
            if if_empty:
                self.stdout.write("数据库中已有人员，跳过演示数据 (people already exist: demo data skipped)")
                return
            raise CommandError(
                "数据库中已有人员数据，演示数据只能生成到空库中 (the database already has people: "
                "demo data goes into an empty database; use --if-empty to skip quietly)"
            )
        if Area.objects.filter(code=DISTRICT_CODE).exists():
            raise CommandError(
                f"区划 {DISTRICT_CODE} {DISTRICT_NAME} 已存在 (the demo district already exists): "
                "请使用新的数据库 (use a fresh database)"
            )
        self.stdout.write(f"生成演示数据 generating demo data: 约 {people:,} 人 people, seed {seed}")
        started = time.perf_counter()
        summary = generate(people, seed=seed, batch_households=batch_size, log=self.stdout.write)
        if event_days > 0:
            self._events(seed, event_days, people)
            self._grid_work(seed, event_days)
        # Fresh statistics: without them the planner treats the new tables as nearly empty.
        bulk.analyze(Area, Building, House, Household, Person, Membership, GroupMembership, LifeEvent, Event,
                     ObjectChange, Visit, DiaryEntry, Patrol)  # fmt: skip
        elapsed = time.perf_counter() - started
        counts = [
            ("区域 areas", Area.objects.count()),
            ("楼栋 buildings", Building.objects.count()),
            ("房屋 houses", House.objects.count()),
            ("户 households", Household.objects.count()),
            ("人员 persons", Person.objects.count()),
            ("人群登记 group memberships", GroupMembership.objects.count()),
            ("人口变动 life events", LifeEvent.objects.count()),
            ("事件 events", Event.objects.count()),
            ("入户走访 visits", Visit.objects.count()),
            ("民情日记 diary entries", DiaryEntry.objects.count()),
            ("巡查 patrols", Patrol.objects.count()),
        ]
        self.stdout.write(self.style.SUCCESS("演示数据已生成 demo data ready"))
        for label, n in counts:
            self.stdout.write(f"  {label:<28} {n:>12,}")
        self.stdout.write(
            f"  {'用时 elapsed':<28} {elapsed:>11.1f}s  ({summary.rows / elapsed:,.0f} 行/秒 rows/s)"
        )

    def _events(self, seed: int, days: int, people: int) -> None:
        """A history of events through the real workflow, so lists, metrics and dashboards have data."""
        grids = list(Area.objects.filter(level="grid").order_by("path")[:60])
        reporters = list(Person.objects.filter(status="active").order_by("pk")[:500])
        per_day = max(2, min(12, people // 1000))
        self.stdout.write(f"生成事件 generating events: {days} 天 days × ~{per_day}/天 per day")
        with context.acting(user=None, channel=context.Channel.DEMO):
            generate_events(grids, reporters, days=days, per_day=per_day, seed=seed)

    def _grid_work(self, seed: int, days: int) -> None:
        """Workers, visits, diaries, patrols and a duty roster for the first community's grids."""
        community = Area.objects.filter(level="community").order_by("path").first()
        if community is None:
            return
        self.stdout.write(f"生成网格工作 generating grid work: {community.name}, {days} 天 days")
        with context.acting(user=None, channel=context.Channel.DEMO):
            generate_grid_work(community, days=days, seed=seed)
