"""Small write paths of the operation app."""

from .models import KeyCanary


def ensure_canary() -> bool:
    """Store the key canary once (``linli init``); ``True`` when it was created now."""
    if KeyCanary.objects.exists():
        return False
    KeyCanary.objects.create(value=KeyCanary.PLAINTEXT)
    return True
