"""Signals other apps use to follow registry changes without the registry knowing them."""

from django.dispatch import Signal

#: Sent inside the merge transaction: ``keep`` and ``duplicate`` persons. Receivers move their
#: own links from the duplicate to the kept record (events, cases, visits …).
person_merged = Signal()
