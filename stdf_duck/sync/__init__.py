"""`stdf-duck sync`: the testers' servers -> the archive, incrementally and safely.

Modules: `plan` (list, filter, classify), `transfer` (connections, retries, downloads), `verify`
(the check of a download), `ledger` (sync_files, syncs, `status`), `run` (`sync`), `remote` (the
protocols), `model` (entries, report, progress).

For each source of the configuration (`stdf_duck.config`):

1. list the files (FTP/FTPS by ftplib, SFTP/S3 by fsspec, a local directory by os.walk) and keep
   those matching include/exclude; a name that would escape the staging area is 'rejected';
2. skip a file the ledger has with the same size and mtime (already ingested, or failed on its
   content); a file is taken only once its size and mtime have stayed the same for
   `stable_seconds` (else it is 'unstable': still being written, taken by a later sync);
3. download it to ARCHIVE/.downloads/<source>/<path> (a `.part` file named after the remote size
   and mtime, resumed from its length after a dropped connection, retried with exponential
   backoff), check that the remote file did not change meanwhile, verify it (a FAR record first,
   the compressed container whole, decompression bounded by `max_ratio` / `max_stream_mb`);
4. materialize it through `stdf_duck.archive.materialize_items` with the configuration's
   `MaterializeOptions` (ledger key: the credential-free URL), while the other downloads go on; then delete the download;
5. record every file's state in the table sync_files, each source's run in syncs, and refresh the
   archive's views.

The archive's lock is held from start to end: a second sync (or materialize) is refused with
ArchiveBusyError, or waits (`wait` seconds). Re-running at any time is safe: everything done is
in the ledger, a download cut by a kill resumes from its `.part` file.
"""

from __future__ import annotations

from .._errors import VerifyError
from .ledger import status
from .model import DOWNLOADS, SyncEntry, SyncProgress, SyncReport
from .run import sync
from .verify import verify_stdf

__all__ = ["DOWNLOADS", "SyncEntry", "SyncProgress", "SyncReport", "VerifyError", "status", "sync", "verify_stdf"]
