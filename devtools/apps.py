from django.apps import AppConfig


class DevtoolsConfig(AppConfig):
    """Benchmarks and demo data: management commands for development, never part of the product.
    config/settings.py installs this app only with DEVTOOLS on (the default outside PRODUCTION)."""

    name = "devtools"
    verbose_name = "Development tools"
