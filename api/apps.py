from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "api"
    verbose_name = "API"

    def ready(self) -> None:
        from api import auth  # noqa: F401 - registers the OpenAPI description of token auth
