"""Demo grid work: workers for the grids of the demo's first community, and weeks of visits,
民情日记, patrols and a duty roster, written through the real services so coverage, due lists and
load figures have something to show.

::

    from linli.grid.demo import generate_grid_work
    summary = generate_grid_work(community, days=90, seed=2026)
"""

import datetime as dt
import random
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from linli.accounts.models import Role, RoleAssignment
from linli.areas.models import Area
from linli.core import workcal
from linli.registry.models import Household

from . import services
from .choices import DiaryGrade, VisitKind, VisitOutcome
from .models import DiaryEntry, DutyShift, GridAssignment, Patrol

FINDINGS = ["家中老人身体尚可，子女每周探望", "反映楼道灯不亮", "租户已搬离，房屋空置", "低保材料需要年审",
            "邻里关系融洽，无特殊情况", "反映小区停车难", "孩子入学咨询，已告知政策", "家中有残疾人，需上门办理补贴",
            "独居老人，已留联系卡", "反映噪音扰民"]  # fmt: skip
DIARY = ["走访{n}户，了解住户情况并更新台账", "巡查网格，清理小广告，走访{n}户", "入户走访{n}户，宣传防诈骗知识",
         "协助办理居住证，走访{n}户", "调解邻里纠纷一起，走访{n}户"]  # fmt: skip
CONCERNS = ["", "", "居民反映垃圾清运不及时", "老旧小区加装电梯意愿较强", "停车位紧张", "部分楼道堆放杂物"]


@dataclass
class GridDemoSummary:
    workers: int
    visits: int
    diaries: int
    patrols: int
    shifts: int


def _worker_for(grid: Area, community: Area, index: int, demo_worker):
    """The responsible worker of a grid: the demo account for the first grid, data-only accounts else."""
    if index == 0 and demo_worker is not None:
        return demo_worker
    user_model = get_user_model()
    username = f"gw{community.code[-6:]}{grid.grid_number or index + 1:02d}"
    user, created = user_model.objects.get_or_create(
        username=username, defaults={"full_name": f"网格员{index + 1:02d}"}
    )
    if created:
        user.set_unusable_password()  # data for the load and coverage pages, not a login
        user.save()
        RoleAssignment.objects.create(user=user, role=Role.objects.get(key="grid_worker"), area=grid)
    return user


@transaction.atomic
def generate_grid_work(community: Area, *, days: int = 90, seed: int = 2026, now: dt.datetime | None = None,
                       visits_per_day: int = 4) -> GridDemoSummary:  # fmt: skip
    rng = random.Random(seed)
    now = now or timezone.now()
    today = timezone.localdate(now)
    user_model = get_user_model()
    demo_worker = user_model.objects.filter(username="gridworker").first()
    supervisor = user_model.objects.filter(username="staff").first()
    grids = list(Area.objects.filter(path__startswith=community.path, level="grid").order_by("path"))
    counts = {"visits": 0, "diaries": 0, "patrols": 0, "shifts": 0}
    workers = []
    for index, grid in enumerate(grids):
        worker = _worker_for(grid, community, index, demo_worker)
        if not GridAssignment.objects.current(today).filter(area=grid, role="responsible").exists():
            services.assign(grid, worker, start_date=today - dt.timedelta(days=days + 30))
        workers.append((grid, worker))

    for grid, worker in workers:
        households = list(Household.objects.filter(area=grid, status="active").order_by("number"))
        if not households:
            continue
        rng.shuffle(households)
        queue = iter(households * 3)
        for offset in range(days, 0, -1):
            day = today - dt.timedelta(days=offset)
            if not workcal.is_working_day(day):
                continue
            visited = 0
            for _ in range(rng.randint(max(1, visits_per_day - 2), visits_per_day + 2)):
                home = next(queue, None)
                if home is None:
                    break
                outcome = VisitOutcome.NOBODY if rng.random() < 0.12 else VisitOutcome.MET
                members = list(home.current_members()[:2]) if outcome == VisitOutcome.MET else []
                services.record_visit(household=home, visitor=worker, visited_on=day, outcome=outcome,
                                      kind=VisitKind.DOOR, met=[m.person for m in members],
                                      findings=rng.choice(FINDINGS) if outcome == VisitOutcome.MET else "")  # fmt: skip
                visited += 1
                counts["visits"] += 1
            entry = DiaryEntry(area=grid, author=worker, date=day, content=rng.choice(DIARY).format(n=visited),
                               concerns=rng.choice(CONCERNS))  # fmt: skip
            if supervisor is not None and offset > 7:
                entry.grade = rng.choices(DiaryGrade.values, weights=[3, 5, 2, 0.3])[0]
                entry.graded_by = supervisor
                entry.graded_at = timezone.make_aware(
                    dt.datetime.combine(day + dt.timedelta(days=3), dt.time(10))
                )
            entry.save()
            counts["diaries"] += 1
            start = timezone.make_aware(
                dt.datetime.combine(day, dt.time(rng.choice([8, 9, 15, 16]), rng.randint(0, 59)))
            )
            minutes = rng.randint(35, 85)
            Patrol(area=grid, user=worker, started_at=start, ended_at=start + dt.timedelta(minutes=minutes),
                   route="网格内主要道路及楼栋", findings=rng.choice(["", "", "无异常", "发现井盖松动已上报", "清理小广告"])).save()  # fmt: skip
            counts["patrols"] += 1

    staff = [u for u in (supervisor, demo_worker) if u is not None]
    for offset in range(-7, 14):
        day = today + dt.timedelta(days=offset)
        day_start = timezone.make_aware(dt.datetime.combine(day, dt.time(8, 30)))
        if staff:
            DutyShift(area=community, user=staff[offset % len(staff)], starts_at=day_start,
                      ends_at=day_start + dt.timedelta(hours=9), duty_phone="027-84600000").save()  # fmt: skip
        DutyShift(area=community, volunteer_name=rng.choice(["张师傅", "李阿姨", "赵大姐", "刘师傅"]), kind="night",
                  starts_at=day_start + dt.timedelta(hours=9), ends_at=day_start + dt.timedelta(hours=24),
                  duty_phone="027-84600000").save()  # fmt: skip
        counts["shifts"] += 2 if staff else 1
    return GridDemoSummary(workers=len(workers), **counts)
