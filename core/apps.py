from django.apps import AppConfig
from django.db.backends.signals import connection_created


class CoreConfig(AppConfig):
    name = "core"
    label = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        from core.db_roles import switch_to_app_role
        from core.tenant_keys import group_by_whole_rows

        group_by_whole_rows()

        connection_created.connect(switch_to_app_role, dispatch_uid="core.switch_to_app_role")
