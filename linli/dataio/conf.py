"""Limits of the import and export paths.

Read from Django settings when the project defines them, else from the environment, else the
defaults below; so an operator can tighten a limit without a code change (``LINLI_IMPORT_MAX_MB``).
"""

import os

from django.conf import settings

MB = 1024 * 1024


def _int(name: str, default: int) -> int:
    value = getattr(settings, name, None)
    if value is None:
        value = os.environ.get(name, default)
    return int(value)


def max_upload_bytes() -> int:
    """Largest file accepted for import (20 MB: a 200,000-row ledger as xlsx is about 15 MB)."""
    return _int("LINLI_IMPORT_MAX_MB", 20) * MB


def xlsx_stream_bytes() -> int:
    """.xlsx files above this size are streamed (bounded memory) instead of read whole by calamine.

    calamine holds the whole sheet (~1.4 KB per ledger row) but reads ~3× faster; 8 MB is about
    100,000 ledger rows, ~150 MB in calamine.
    """
    return _int("LINLI_IMPORT_XLSX_STREAM_MB", 8) * MB


def max_restarts() -> int:
    """Times a job abandoned by a killed worker is queued again before it is failed."""
    return _int("LINLI_IMPORT_MAX_RESTARTS", 3)


def max_rows() -> int:
    """Data rows per file; larger ledgers are split by community."""
    return _int("LINLI_IMPORT_MAX_ROWS", 200_000)


def max_unzipped_bytes() -> int:
    """Total uncompressed size of an xlsx's parts: the zip-bomb ceiling."""
    return _int("LINLI_IMPORT_MAX_UNZIPPED_MB", 300) * MB


def max_zip_ratio() -> int:
    """Largest uncompressed/compressed ratio of one xlsx part bigger than 1 MB unpacked.

    Real sheets compress 5–30×, a ledger of near-identical rows up to ~100×; bombs reach 1000×.
    """
    return _int("LINLI_IMPORT_MAX_ZIP_RATIO", 200)


def inline_bytes() -> int:
    """Files up to this size are checked inside the upload request; bigger ones in the background."""
    return _int("LINLI_IMPORT_INLINE_KB", 256) * 1024


def stored_errors() -> int:
    """Errors kept on the job for the report page; the full list is in the downloadable report."""
    return _int("LINLI_IMPORT_SHOWN_ERRORS", 200)


def stats_refresh_seconds() -> int:
    """Age after which the background loop recomputes the community statistics (10 minutes)."""
    return _int("LINLI_STATS_REFRESH_SECONDS", 600)


def stats_stale_seconds() -> int:
    """Age from which pages label the community statistics as stale (30 minutes)."""
    return _int("LINLI_STATS_STALE_SECONDS", 1800)
