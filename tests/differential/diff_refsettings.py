"""The reference's settings with a cheap password hash, for the differential run.

PBKDF2 at Django's 1,000,000 iterations costs about 0.3 s a hash on this
machine, and every login, sign-up and wrong password the generator sends pays
it: 1,000 iterations keep the check the same (same hasher, same validators,
same answers) and let the run send many more requests in its time. Nothing
else of refsite.settings changes. Used as DJANGO_SETTINGS_MODULE by run.sh,
with this folder on PYTHONPATH.
"""

from refsite.settings import *  # noqa: F401,F403

PASSWORD_HASHERS = ["diff_hashers.QuickPBKDF2PasswordHasher"]
