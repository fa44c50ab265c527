import re
from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


@pytest.mark.parametrize("role", ["clinician", "reviewer", "researcher"])
def test_create_user_gives_the_role_and_a_random_password_once(role):
    output = run("create_user", "dr.who", "--role", role)
    password = re.search(r"Password \(shown once\): (\S+)", output).group(1)
    user = User.objects.get(username="dr.who")
    assert list(user.groups.values_list("name", flat=True)) == [role]
    assert not user.is_staff and user.check_password(password) and len(password) >= 16


def test_create_user_makes_administrators_staff():
    run("create_user", "boss", "--role", "admin", "--password", "a-long-Passphrase-1")
    user = User.objects.get(username="boss")
    assert user.is_staff and user.is_superuser and user.check_password("a-long-Passphrase-1")


def test_create_user_refuses_an_existing_name():
    run("create_user", "dup", "--role", "clinician")
    with pytest.raises(CommandError, match="already exists"):
        run("create_user", "dup", "--role", "clinician")


def test_ensure_admin_creates_one_administrator_with_a_random_password():
    first = run("ensure_admin")
    password = re.search(r"with password (\S+)", first).group(1)
    assert User.objects.get(username="admin").check_password(password)
    second = run("ensure_admin")
    assert "already exists" in second and password not in second
    assert User.objects.filter(is_superuser=True).count() == 1


def test_ensure_admin_passwords_differ_between_installations():
    first = re.search(r"with password (\S+)", run("ensure_admin")).group(1)
    User.objects.all().delete()
    assert re.search(r"with password (\S+)", run("ensure_admin")).group(1) != first
