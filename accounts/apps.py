from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts and sign-in"

    def ready(self):
        #  The sign-in signal's receiver (the session deadline) must be connected before the first
        #  sign-in, not only once the middleware module happens to be imported.
        from accounts import sessions  # noqa: F401
