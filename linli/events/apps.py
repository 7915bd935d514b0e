from django.apps import AppConfig
from django.core import checks


class DatabaseDaySource:
    """Working-calendar exceptions from the ``WorkCalendarDay`` table (see :mod:`linli.core.workcal`)."""

    def __init__(self):
        self._table_ready = False

    def _ready(self) -> bool:
        # Until `migrate` has created the table the shipped files are used; once it exists, it
        # stays (so the introspection query runs only on a database that is not migrated yet).
        if not self._table_ready:
            from django.db import connection

            from .models import WorkCalendarDay

            self._table_ready = WorkCalendarDay._meta.db_table in connection.introspection.table_names()
        return self._table_ready

    def __call__(self, year: int):
        if not self._ready():
            return None
        from .models import WorkCalendarDay

        rows = WorkCalendarDay.objects.filter(date__year=year).values_list("date", "kind")
        return {day: kind == "workday" for day, kind in rows} or None

    def years(self) -> set[int]:
        if not self._ready():
            return set()
        from .models import WorkCalendarDay

        return {d.year for d in WorkCalendarDay.objects.dates("date", "year")}


def check_calendar(app_configs=None, today=None, **kwargs):
    """Warn when this year's (or, in December, next year's) holiday arrangement is missing."""
    import datetime as dt

    from django.db import DatabaseError

    from linli.core import workcal

    today = today or dt.date.today()
    wanted = [today.year] + ([today.year + 1] if today.month == 12 else [])
    try:
        covered = workcal.covered_years()
    except DatabaseError:
        return []
    return [
        checks.Warning(
            f"{year} 年的节假日与调休安排尚未录入，工作日按周一至周五计算 "
            f"(no holiday data for {year}; working days fall back to Monday-Friday)",
            hint="在“节假日/调休”中录入国务院办公厅的放假安排，或添加 linli/core/data/holidays/<year>.csv",
            id="linli.events.W001",
        )
        for year in wanted
        if year not in covered
    ]


class EventsConfig(AppConfig):
    """Events and requests (事件/诉求): numbered cases from every channel, workflow, time limits."""

    name = "linli.events"
    label = "events"
    verbose_name = "事件办理 Events"

    def ready(self):
        from linli.core import workcal

        workcal.set_day_source(DatabaseDaySource())
        checks.register(check_calendar, "linli")

        from linli.registry.signals import person_merged

        from .models import move_person_links

        person_merged.connect(move_person_links, dispatch_uid="events.move_person_links")
