"""Background jobs' API resources: status and output file."""

from flask_login import current_user
from marshmallow import fields, validate

from hardship.api import BaseSchema, route
from hardship.jobs.models import Job
from tenants.scoping import get_owned


class StartedJob(BaseSchema):
    """A background job just started: poll ``/jobs/{id}``."""

    job = fields.String(required=True, metadata={"description": "the job's id"})
    status = fields.String(required=True)


class RejectedRow(BaseSchema):
    row = fields.Integer(required=True)
    field = fields.String(required=True)
    column = fields.String(required=True)
    message = fields.String(required=True)


class JobOut(BaseSchema):
    """A job's status and progress; a finished job adds its result (an import: ``imported``, ``rejected``, ...;
    an export: ``rows``); a refused one, ``refused``."""

    id = fields.String(required=True)
    name = fields.String(required=True)
    queue = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(["queued", "started", "finished", "failed"]))
    progress = fields.Float(required=True)
    total = fields.Integer(required=True, allow_none=True)
    error = fields.String(required=True, allow_none=True)
    has_output = fields.Boolean(required=True)
    created_at = fields.String(required=True, allow_none=True, metadata={"format": "date-time"})
    finished_at = fields.String(required=True, allow_none=True, metadata={"format": "date-time"})
    refused = fields.String(metadata={"description": "why a job was refused (e.g. a file that cannot be imported)"})
    rows = fields.Integer(metadata={"description": "rows read (an import) or written (an export)"})
    file = fields.String(metadata={"description": "the imported file's name"})
    imported = fields.Integer()
    already_imported = fields.Integer()
    rejected_rows = fields.Integer()
    rejected = fields.List(fields.Nested(RejectedRow), metadata={"description": "the first rejected rows' verdicts"})
    rejected_complete = fields.Boolean(metadata={"description": "whether ``rejected`` lists every verdict"})
    ignored_columns = fields.List(fields.String())


@route("/jobs/<job_id>", tags=["jobs"], response=JobOut)
def get_job(job_id):
    """Status, progress and result of a background job of your subtree."""
    return get_owned(Job, job_id).to_dict()


@route("/jobs/<job_id>/output", tags=["jobs"])
def get_job_output(job_id):
    """The file a finished job produced (xlsx)."""
    return get_owned(Job, job_id).output_response(current_user)
