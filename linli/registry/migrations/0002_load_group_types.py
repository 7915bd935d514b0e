from django.db import migrations


def load(apps, schema_editor):
    from linli.registry.groups import load_group_types

    load_group_types(apps.get_model("registry", "GroupType"))


class Migration(migrations.Migration):
    dependencies = [("registry", "0001_initial"), ("codes", "0002_load_code_tables")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
