"""Background work of the aid module."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from hardship.core.jobs import job


def _forget_upload(run, upload_id: int, batch_id: int) -> None:
    from hardship.archives.importing.job import drop_content

    drop_content(run, upload_id)


@job("imports", label=_l("Aid items upload"), on_failure=_forget_upload)
def upload_items(run, upload_id: int, batch_id: int):
    """Add the rows of an uploaded xlsx or csv file to a draft batch (``hardship.aid.upload``), under the scope of
    the batch's union, in the language of the person who uploaded it; the stored file is dropped either way."""
    from hardship.aid.upload import run_upload

    return run_upload(run, upload_id, batch_id)
