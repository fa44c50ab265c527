import secrets

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from scans.permissions import ROLES

ADMIN = "admin"


class Command(BaseCommand):
    help = "Create an account with a role. Prints a random password once unless --password is given."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--role", required=True, choices=[*ROLES, ADMIN])
        parser.add_argument("--email", default="")
        parser.add_argument("--password", help="Set this password instead of a random one.")

    @transaction.atomic
    def handle(self, username, role, email, password, **options):
        User = get_user_model()
        if User.objects.filter(username=username).exists():
            raise CommandError(f"A user named {username!r} already exists.")
        generated = password is None
        password = password or secrets.token_urlsafe(12)
        try:  # the same rules as the password pages (AUTH_PASSWORD_VALIDATORS)
            validate_password(password, User(username=username, email=email))
        except ValidationError as exc:
            raise CommandError("The password is refused: " + " ".join(exc.messages)) from None
        if role == ADMIN:
            user = User.objects.create_superuser(username, email, password)
        else:
            user = User.objects.create_user(username, email, password)
            user.groups.add(Group.objects.get_or_create(name=role)[0])
        self.stdout.write(f"Created {role} {user.username!r}.")
        if generated:
            self.stdout.write(f"Password (shown once): {password}")
