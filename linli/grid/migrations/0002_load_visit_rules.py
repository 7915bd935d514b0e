from django.db import migrations


def load(apps, schema_editor):
    from linli.grid.loader import load_visit_rules

    load_visit_rules(apps.get_model("grid", "VisitRule"), apps.get_model("registry", "GroupType"))


class Migration(migrations.Migration):
    dependencies = [("grid", "0001_initial"), ("registry", "0002_load_group_types")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
