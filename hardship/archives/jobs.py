"""Background work of the archive."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from hardship.core.jobs import job


def _forget_upload(run, upload_id: int) -> None:
    from hardship.archives.importing.job import drop_content

    drop_content(run, upload_id)


@job("imports", label=_l("Household import"), on_failure=_forget_upload)
def import_households(run, upload_id: int):
    """Import the households of an uploaded xlsx or csv file (``hardship.archives.importing``); runs
    under the scope of the importing union, in the language of the person who uploaded it. The batches
    reported before a failure stay imported; the stored file is dropped either way."""
    from hardship.archives.importing.job import run_import

    return run_import(run, upload_id)
