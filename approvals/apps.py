from django.apps import AppConfig


class ApprovalsConfig(AppConfig):
    name = "approvals"
    label = "approvals"
    verbose_name = "Approvals"

    def ready(self) -> None:
        from approvals import chain

        chain.register()
