
import django.db.models.deletion
import workflows.models.calendars
from django.conf import settings
from django.db import migrations, models

from core.audit import EnableAudit
from core.rls import EnableRowLevelSecurity


class Migration(migrations.Migration):

    dependencies = [
        ('core', '0006_platform_role_policy'),
        ('tenants', '0001_initial'),
        ('workflows', '0015_inbox_open_work'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='BusinessCalendar',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('updated_at', models.DateTimeField(auto_now=True)),
                ('name', models.CharField(max_length=200)),
                ('time_zone', models.CharField(default='UTC', max_length=64)),
                ('working_days', models.JSONField(default=workflows.models.calendars.default_working_days)),
                ('start_time', models.TimeField()),
                ('end_time', models.TimeField()),
                ('holidays', models.JSONField(blank=True, default=list)),
                ('is_default', models.BooleanField(default=False)),
                ('created_by', models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('tenant', models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='tenants.tenant')),
                ('updated_by', models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'ordering': ['id'],
                'constraints': [models.UniqueConstraint(fields=('tenant', 'name'), name='calendar_name_unique'), models.UniqueConstraint(condition=models.Q(('is_default', True)), fields=('tenant',), name='calendar_one_default_per_tenant')],
            },
        ),
        # A tenant table: the tenant policy and the audit trigger, like every other.
        EnableRowLevelSecurity(tables=["workflows_businesscalendar"]),
        EnableAudit(tables=["workflows_businesscalendar"]),
    ]
