from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("workflows", "0012_fk_indexes_covered_by_tenant_keys"),
    ]

    operations = [
        migrations.AddField(
            model_name="steprun",
            name="claimed_until",
            field=models.DateTimeField(blank=True, null=True),
        ),
    ]
