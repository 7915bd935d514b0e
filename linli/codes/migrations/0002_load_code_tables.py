from django.db import migrations


def load(apps, schema_editor):
    from linli.codes.loader import load_all

    load_all(apps.get_model("codes", "CodeTable"), apps.get_model("codes", "Code"))


class Migration(migrations.Migration):
    dependencies = [("codes", "0001_initial")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
