from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    label = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        from django.contrib.auth.models import update_last_login
        from django.contrib.auth.signals import user_logged_in

        # A session login writes no user row, like a token login (UPDATE_LAST_LOGIN off): no
        # audit event per sign-in, no write to a row other requests read.
        user_logged_in.disconnect(update_last_login, dispatch_uid="update_last_login")
