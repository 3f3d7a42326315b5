"""Background jobs' API resources: status and output file."""

from flask_login import current_user
from marshmallow import fields

from hardship.api import BaseSchema, route
from hardship.jobs.models import Job
from tenants.scoping import get_owned


class JobOut(BaseSchema):
    id = fields.String()
    status = fields.String()
    progress = fields.Float()
    total = fields.Integer(allow_none=True)


@route("/jobs/<job_id>", tags=["jobs"], response=JobOut)
def get_job(job_id):
    """Status, progress and result of a background job of your subtree."""
    return get_owned(Job, job_id).to_dict()


@route("/jobs/<job_id>/output", tags=["jobs"])
def get_job_output(job_id):
    """The file a finished job produced (xlsx)."""
    return get_owned(Job, job_id).output_response(current_user)
