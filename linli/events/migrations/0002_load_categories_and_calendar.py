from django.db import migrations


def load(apps, schema_editor):
    from linli.events.loader import load_calendar_days, load_categories

    load_categories(apps.get_model("events", "EventCategory"))
    load_calendar_days(apps.get_model("events", "WorkCalendarDay"))


class Migration(migrations.Migration):
    dependencies = [("events", "0001_initial")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
