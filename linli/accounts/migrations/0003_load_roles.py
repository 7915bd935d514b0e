from django.db import migrations


def load(apps, schema_editor):
    from linli.accounts.roles import load_roles

    load_roles(apps.get_model("accounts", "Role"))


class Migration(migrations.Migration):
    dependencies = [("accounts", "0002_role_apitoken_roleassignment")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
