from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from api import tokens
from api.models import ApiToken


class Command(BaseCommand):
    help = "Create, list or revoke API tokens. A new key is printed once and never stored."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="Create a token for a user and print its key.")
        create.add_argument("username")
        create.add_argument("--name", default="Created by an administrator")
        listing = sub.add_parser("list", help="List tokens (never their keys).")
        listing.add_argument("username", nargs="?")
        revoke = sub.add_parser("revoke", help="Revoke a token by its id.")
        revoke.add_argument("id", type=int)

    def handle(self, action, **options):
        getattr(self, f"_{action}")(**options)

    def _create(self, username, name, **options):
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user named {username!r}.")
        try:
            token, key = tokens.create_token(user, name)
        except tokens.TooManyTokens as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"Created token {token.pk} ({token.name!r}) for {username!r}.")
        self.stdout.write(f"Key (shown once): {key}")

    def _list(self, username=None, **options):
        found = ApiToken.objects.select_related("user").order_by("user__username", "created")
        if username:
            found = found.filter(user__username=username)
        for t in found:
            used = f"{t.last_used:%Y-%m-%d %H:%M}" if t.last_used else "never"
            self.stdout.write(f"{t.pk}\t{t.user.get_username()}\t{t.prefix}…\t{t.name}\tlast used {used}")

    def _revoke(self, id, **options):
        deleted, _ = ApiToken.objects.filter(pk=id).delete()
        if not deleted:
            raise CommandError(f"No token with id {id}.")
        self.stdout.write(f"Revoked token {id}.")
