"""Encrypted model fields for credentials and tokens.

Built on django-fernet-fields-v2 (Fernet, keys from settings.FERNET_KEYS, newest first).
Two additions: a value that no longer decrypts (keys rotated away, corrupted column)
loads as an `Unreadable` marker instead of raising, so a page can say "credentials
unreadable, re-enter them" rather than fail; and the key list is read from settings on
use, so a key prepended at runtime (rotation) takes effect without a restart.
"""

import json
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from fernet_fields import EncryptedTextField
from fernet_fields.hkdf import derive_fernet_key


class Unreadable:
    """A stored secret that cannot be decrypted. Saving it back keeps the stored bytes."""

    __slots__ = ("ciphertext",)

    def __init__(self, ciphertext: bytes):
        self.ciphertext = ciphertext

    def __bool__(self):
        return False

    def __repr__(self):
        return "<unreadable credentials>"

    def __eq__(self, other):
        return isinstance(other, Unreadable) and other.ciphertext == self.ciphertext

    __hash__ = None


@lru_cache(maxsize=8)
def _fernet_for(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(derive_fernet_key(key)) for key in keys])


class EncryptedSecretField(EncryptedTextField):
    """Encrypted text that never raises on read."""

    @property
    def fernet(self):
        return _fernet_for(tuple(settings.FERNET_KEYS))

    def get_db_prep_save(self, value, connection):
        if isinstance(value, Unreadable):
            return connection.Database.Binary(value.ciphertext)
        return super().get_db_prep_save(value, connection)

    def from_db_value(self, value, expression, connection, *args):
        if value is None:
            return None
        try:
            return super().from_db_value(value, expression, connection, *args)
        except InvalidToken:
            return Unreadable(bytes(value))

    def to_python(self, value):
        if isinstance(value, Unreadable):
            return value
        return super().to_python(value)


class EncryptedJSONField(EncryptedSecretField):
    """An encrypted dict of credential parts, e.g. {"email": ..., "api_token": ...}."""

    def get_prep_value(self, value):
        if value is None or isinstance(value, Unreadable):
            return value
        return json.dumps(value, sort_keys=True)

    def to_python(self, value):
        if value is None or isinstance(value, (dict, Unreadable)):
            return value
        return json.loads(value)
