"""`manage.py ensure_superuser`: make sure a superuser can log in at /admin/ right away.

Creates the user (default `admin`) or resets its password; the password comes from
DJANGO_SUPERUSER_PASSWORD, else a fresh one is generated and printed once.
"""

from __future__ import annotations

import os
import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

PASSWORD_ENV = "DJANGO_SUPERUSER_PASSWORD"


class Command(BaseCommand):
    help = (
        "Create or update a superuser (default `admin`). Password from "
        f"{PASSWORD_ENV}, or generated and printed."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--username", default="admin", help="Username (admin).")
        parser.add_argument("--email", default="admin@example.com", help="Email for a new user.")

    def handle(self, *args, **options) -> None:
        username = options["username"].strip()
        if not username:
            raise CommandError("--username must not be empty.")
        password = os.environ.get(PASSWORD_ENV, "")
        generated = not password
        if generated:
            password = secrets.token_urlsafe(12)

        user_model = get_user_model()
        user, created = user_model.objects.get_or_create(
            **{user_model.USERNAME_FIELD: username}, defaults={"email": options["email"]}
        )
        user.is_staff = True
        user.is_superuser = True
        user.is_active = True
        user.set_password(password)
        user.save()

        verb = "Created" if created else "Updated"
        source = "generated" if generated else f"from {PASSWORD_ENV}"
        self.stdout.write(f"{verb} superuser '{username}' (password {source}).")
        if generated:
            self.stdout.write(f"Admin login: username '{username}', password '{password}'")
