"""The working-day calendar: weekends, public holidays, 调休 Saturdays, office hours."""

import datetime as dt

import pytest

from linli.core import workcal
from linli.core.workcal import TimeUnit, WorkCalendar, file_overrides

from .conftest import at

# The shipped files only: these tests need no database.
CAL = WorkCalendar(overrides=file_overrides)


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (dt.date(2026, 11, 20), True),  # Friday
        (dt.date(2026, 11, 21), False),  # Saturday
        (dt.date(2026, 2, 16), False),  # Monday in the Spring Festival holiday (除夕)
        (dt.date(2026, 2, 14), True),  # Saturday made a working day (调休上班)
        (dt.date(2026, 10, 1), False),  # National Day
        (dt.date(2026, 10, 10), True),  # Saturday made a working day
        (dt.date(2026, 9, 20), True),  # Sunday made a working day
        (dt.date(2025, 1, 26), True),  # 2025 Spring Festival make-up Sunday
        (dt.date(2025, 10, 8), False),  # 2025 National Day + Mid-Autumn
        (dt.date(2030, 10, 1), True),  # no data for 2030: Monday-Friday rule
    ],
)
def test_is_working_day(day, working):
    assert CAL.is_working_day(day) is working


def test_working_days_skip_weekend():
    assert CAL.add_working_days(at(2026, 11, 20, 10), 1) == at(2026, 11, 23, 17, 30)
    assert CAL.add_working_days(at(2026, 11, 21, 10), 1) == at(2026, 11, 23, 17, 30)


def test_working_days_across_spring_festival_count_the_make_up_saturday():
    # Fri 13 Feb → Sat 14 Feb (调休上班) = 1, holiday 15–23 Feb, Tue 24 = 2, Wed 25 = 3.
    assert CAL.add_working_days(at(2026, 2, 13, 10), 3) == at(2026, 2, 25, 17, 30)


def test_thirteen_working_days_across_national_day():
    # 12345 complaint limit: Mon 28 Sep → 29, 30, Oct 8, 9, Sat 10 (调休), 12–16, 19, 20, 21.
    assert CAL.add_working_days(at(2026, 9, 28, 9), 13) == at(2026, 10, 21, 17, 30)


def test_working_hours_across_lunch_evening_and_weekend():
    assert CAL.add_working_hours(at(2026, 11, 20, 16), 4) == at(2026, 11, 23, 11)
    assert CAL.add_working_hours(at(2026, 11, 23, 11), 2) == at(2026, 11, 23, 15)
    assert CAL.add_working_hours(at(2026, 11, 21, 10), 1) == at(2026, 11, 23, 9, 30)
    assert CAL.add_working_hours(at(2026, 11, 23, 12, 30), dt.timedelta(minutes=30)) == at(
        2026, 11, 23, 14, 30
    )


def test_working_hours_run_on_a_make_up_saturday_and_skip_a_holiday():
    assert CAL.add_working_hours(at(2026, 10, 9, 17), 1) == at(2026, 10, 10, 9)
    assert CAL.add_working_hours(at(2026, 9, 30, 17), 1) == at(2026, 10, 8, 9)


def test_working_time_between():
    assert CAL.working_time_between(at(2026, 11, 20, 16), at(2026, 11, 23, 11)) == dt.timedelta(hours=4)
    assert CAL.working_time_between(at(2026, 11, 23, 11), at(2026, 11, 20, 16)) == -dt.timedelta(hours=4)
    assert CAL.working_time_between(at(2026, 10, 1, 0), at(2026, 10, 8, 0)) == dt.timedelta(0)


def test_calendar_units_ignore_the_calendar():
    assert CAL.add(at(2026, 11, 20, 17), 2, TimeUnit.CALENDAR_HOURS) == at(2026, 11, 20, 19)
    assert CAL.add(at(2026, 9, 30, 10), 7, TimeUnit.CALENDAR_DAYS) == at(2026, 10, 7, 10)
    assert CAL.add(at(2026, 9, 30, 10), 15, TimeUnit.CALENDAR_MINUTES) == at(2026, 9, 30, 10, 15)


def test_results_are_in_beijing_time_whatever_the_input_zone():
    utc_friday_4pm_beijing = dt.datetime(2026, 11, 20, 8, tzinfo=dt.UTC)
    due = CAL.add_working_hours(utc_friday_4pm_beijing, 4)
    assert due == at(2026, 11, 23, 11) and due.utcoffset() == dt.timedelta(hours=8)


def test_yellow_point_counts_working_time():
    # 80 % of 4 working hours from Friday 16:00 = 3.2 h: 1.5 h on Friday, 1.7 h on Monday.
    point = CAL.point_between(at(2026, 11, 20, 16), at(2026, 11, 23, 11), 0.8, TimeUnit.WORKING_HOURS)
    assert point == at(2026, 11, 23, 10, 12)
    assert CAL.point_between(at(2026, 11, 20, 17), at(2026, 11, 20, 19), 0.8, TimeUnit.CALENDAR_HOURS) == at(
        2026, 11, 20, 18, 36
    )


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError, match="timezone-aware"):
        CAL.add_working_days(dt.datetime(2026, 11, 20, 10), 1)


def test_office_hours_are_configurable_and_validated():
    single = WorkCalendar(office_hours="09:00-17:00", overrides=file_overrides)
    assert single.add_working_hours(at(2026, 11, 20, 16), 4) == at(2026, 11, 23, 12)
    for bad in ("9-17", "12:00-08:00", "08:00-12:00,11:00-13:00", ""):
        with pytest.raises(ValueError):
            workcal.parse_office_hours(bad)


def test_default_calendar_reads_the_setting(settings):
    settings.LINLI_OFFICE_HOURS = "09:00-12:00,13:00-18:00"
    workcal.clear_cache()
    assert workcal.default_calendar().periods[1] == (dt.time(13), dt.time(18))


def test_every_shipped_file_is_well_formed():
    for year, path in workcal.holiday_files().items():
        rows = list(workcal.read_holiday_csv(path))
        assert rows and all(day.year == year for day, _, _ in rows)
        # A make-up working day is always a weekend day; a holiday listed on a weekday is a day off.
        assert all(day.weekday() >= 5 for day, kind, _ in rows if kind == workcal.WORKDAY)
    assert {2025, 2026} <= set(workcal.holiday_files())


@pytest.mark.django_db
def test_calendar_days_are_editable_in_the_database():
    from linli.events.models import WorkCalendarDay

    monday = dt.date(2026, 11, 23)
    assert workcal.is_working_day(monday)
    extra = WorkCalendarDay(date=monday, kind="holiday", name="临时调整")
    extra.save()
    assert not workcal.is_working_day(monday)
    assert workcal.is_working_day(dt.date(2026, 2, 14))  # the seeded rows of the same year still count
    extra.delete()
    assert workcal.is_working_day(monday)


@pytest.mark.django_db
def test_the_migration_seeded_the_calendar_table():
    from linli.events.loader import load_calendar_days
    from linli.events.models import WorkCalendarDay

    load_calendar_days()  # no-op after the migration; restores rows a transactional test flushed
    assert WorkCalendarDay.objects.get(date=dt.date(2026, 2, 14)).kind == "workday"
    assert WorkCalendarDay.objects.filter(date__year=2025).count() == 33


@pytest.mark.django_db
def test_missing_holiday_data_is_reported_by_a_system_check(monkeypatch):
    from linli.events.apps import check_calendar

    monkeypatch.setattr(workcal, "covered_years", lambda: {2025, 2026})
    assert check_calendar(today=dt.date(2026, 6, 1)) == []
    # In December the coming year's arrangement is due (the State Council publishes it in autumn).
    december = check_calendar(today=dt.date(2026, 12, 2))
    assert [w.id for w in december] == ["linli.events.W001"] and "2027" in december[0].msg
    monkeypatch.setattr(workcal, "covered_years", lambda: set())
    warnings = check_calendar(today=dt.date(2026, 6, 1))
    assert [w.id for w in warnings] == ["linli.events.W001"] and "2026" in warnings[0].msg
