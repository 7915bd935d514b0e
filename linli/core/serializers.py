"""Serializer helpers shared by the API apps."""

import copy

_FIELDS: dict[type, dict] = {}


class CachedFieldsMixin:
    # No docstring on purpose: drf-spectacular documents a serializer with the first docstring of
    # its classes, and this one would become the description of every schema component using it.
    #
    # Build a ModelSerializer's fields from the model once per class, then copy them. DRF
    # introspects the model (field kwargs, validators, relations) for every serializer instance,
    # that is for every request (~0.5-0.8 ms per serializer at 100k residents, docs/performance.md,
    # throughput). The result depends only on the class and its Meta, so it is built once; each
    # instance gets fresh copies (Field.__deepcopy__ re-creates a field from its arguments, as DRF
    # does for declared fields), bound to that instance as before. Serializers whose fields
    # depend on the request must not use this mixin.

    def get_fields(self):
        cls = type(self)
        prototypes = _FIELDS.get(cls)
        if prototypes is None:
            prototypes = _FIELDS[cls] = super().get_fields()
        return {name: copy.deepcopy(field) for name, field in prototypes.items()}
