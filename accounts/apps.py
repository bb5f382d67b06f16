from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts and people"

    def ready(self) -> None:
        from allauth.account.signals import user_logged_in

        from accounts.signals import record_login

        user_logged_in.connect(record_login, dispatch_uid="sundial-audit-user-login")
