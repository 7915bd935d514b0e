"""The 5- and 6-character ID tails and the full phone lose their own indexes.

Each index is written on every insert (at 1M imported rows these three cost ~5 % of writing the
person table). A 4-character tail narrows a district of 1M to ~100 candidates, which the longer
tail's or the full phone's blind value filters: ``id_tail_q`` and ``phone_q`` in the models.
"""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('registry', '0007_name_pinyin_prefix_indexes'),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name='person',
            name='registry_person_id_tail5_bidx',
        ),
        migrations.RemoveIndex(
            model_name='person',
            name='registry_person_id_tail6_bidx',
        ),
        migrations.RemoveIndex(
            model_name='person',
            name='registry_person_phone_bidx',
        ),
    ]
