"""Model fields shared by every domain app."""

from django.core import checks
from django.db import models

from .crypto import keyring


class PathField(models.CharField):
    """A materialised area path (``0001000A0003``), compared byte-wise.

    Scope filters are range comparisons on this column (see :mod:`linli.core.scope`). On
    PostgreSQL the column uses the ``C`` collation so that the range follows byte order and can
    use a plain B-tree index whatever the database's locale is; the same index answers
    ``LIKE 'prefix%'`` (``__startswith``), so the column has no pattern-ops twin.
    """

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("max_length", 255)
        super().__init__(*args, **kwargs)

    def db_type(self, connection):
        if connection.vendor == "postgresql":
            # The same type under its long name: Django's PostgreSQL schema editor adds a
            # varchar_pattern_ops twin to every indexed column whose type begins with "varchar",
            # for LIKE outside the C collation. This column is in C, where the plain B-tree
            # answers LIKE 'prefix%' itself: the twin would only be written on every insert.
            return f"character varying({self.max_length})"
        return super().db_type(connection)

    def db_parameters(self, connection):
        params = super().db_parameters(connection)
        if connection.vendor == "postgresql":
            params["collation"] = "C"
        return params


class EncryptedTextField(models.Field):
    """Text stored as authenticated ciphertext (see :mod:`linli.core.crypto`).

    In Python the attribute holds the plaintext; the database holds only ciphertext. Lookups
    other than ``isnull`` make no sense on ciphertext: search through the model's blind-index
    columns instead.
    """

    description = "Encrypted text"

    def __init__(self, *args, aad: str = "", **kwargs):
        self.aad = aad.encode()
        kwargs.setdefault("blank", True)
        kwargs.setdefault("null", True)
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        if self.aad:
            kwargs["aad"] = self.aad.decode()
        return name, path, args, kwargs

    def get_internal_type(self):
        return "BinaryField"

    def from_db_value(self, value, expression, connection):
        if value is None:
            return ""
        return keyring().decrypt(value, self.aad)

    def to_python(self, value):
        return "" if value is None else str(value)

    def get_db_prep_value(self, value, connection, prepared=False):
        if value is None or value == "":
            return None
        if isinstance(value, bytes | memoryview):
            return connection.Database.Binary(bytes(value))
        return connection.Database.Binary(keyring().encrypt(str(value), self.aad))

    def get_lookup(self, lookup_name):
        if lookup_name != "isnull":
            return None
        return super().get_lookup(lookup_name)

    def formfield(self, **kwargs):
        from django import forms

        return forms.CharField(required=not self.blank, **kwargs)


class CodeField(models.CharField):
    """A value from a code table (GB standards and local tables), stored as its code.

    The table name is kept on the field so forms, imports, exports and validation look the
    label up in :mod:`linli.codes` instead of a hard-coded choice list.
    """

    def __init__(self, *args, table: str, **kwargs):
        self.table = table
        kwargs.setdefault("max_length", 16)
        kwargs.setdefault("blank", True)
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        kwargs["table"] = self.table
        if kwargs.get("max_length") == 16:
            del kwargs["max_length"]
        if kwargs.get("blank") is True:
            del kwargs["blank"]
        return name, path, args, kwargs

    def check(self, **kwargs):
        errors = super().check(**kwargs)
        if not self.table:
            errors.append(checks.Error("CodeField needs a table name", obj=self, id="linli.E001"))
        return errors

    def validate(self, value, model_instance):
        super().validate(value, model_instance)
        if value in self.empty_values:
            return
        from linli.codes.lookup import ensure_code

        ensure_code(self.table, value, field_label=str(self.verbose_name))


def indexed_path_fields(model_classes) -> list[tuple[type[models.Model], PathField]]:
    """The indexed path fields of the given models (live or a migration's historical ones)."""
    return [
        (model, field)
        for model in model_classes
        for field in model._meta.local_concrete_fields
        if isinstance(field, PathField) and (field.db_index or field.unique)
    ]
