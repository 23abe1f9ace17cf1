"""Django's PBKDF2 hasher at 1,000 iterations (see diff_refsettings.py)."""

from django.contrib.auth.hashers import PBKDF2PasswordHasher


class QuickPBKDF2PasswordHasher(PBKDF2PasswordHasher):
    iterations = 1000
