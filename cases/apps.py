from django.apps import AppConfig


class CasesConfig(AppConfig):
    name = "cases"
    label = "cases"
    verbose_name = "Cases"

    def ready(self) -> None:
        from cases import subject

        subject.register()
