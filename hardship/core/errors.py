"""Application errors and their rendering.

Operations raise these; the API turns them into
``{"error": {"code": ..., "message": ..., "fields": {...}}}`` and the UI into a page or a
flashed message. Messages are lazy gettext strings, so they follow the request's language.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l


class AppError(Exception):
    status = 400
    code = "bad_request"
    default_message = _l("The request could not be understood.")

    def __init__(self, message=None, fields: dict | None = None, **extra):
        self.message = message if message is not None else self.default_message
        self.fields = fields or {}
        self.extra = extra
        super().__init__(str(self.message))

    def to_dict(self) -> dict:
        body = {"code": self.code, "message": str(self.message)}
        if self.fields:
            body["fields"] = {k: _stringify(v) for k, v in self.fields.items()}
        body.update({k: _stringify(v) for k, v in self.extra.items()})
        return {"error": body}


def _stringify(value):
    if isinstance(value, dict):
        return {k: _stringify(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_stringify(v) for v in value]
    if isinstance(value, int | float | bool) or value is None:
        return value
    return str(value)


class BadRequest(AppError):
    status = 400
    code = "bad_request"


class Unauthorized(AppError):
    status = 401
    code = "unauthorized"
    default_message = _l("Authentication is required.")


class Forbidden(AppError):
    status = 403
    code = "forbidden"
    default_message = _l("Your roles do not allow this action.")


class NotFound(AppError):
    status = 404
    code = "not_found"
    default_message = _l("Not found.")


class MethodNotAllowed(AppError):
    status = 405
    code = "method_not_allowed"
    default_message = _l("This method is not allowed here.")


class Conflict(AppError):
    status = 409
    code = "conflict"
    default_message = _l("The request conflicts with the current state.")


class ValidationFailed(AppError):
    status = 422
    code = "validation_failed"
    default_message = _l("Some fields are not valid.")


class PayloadTooLarge(AppError):
    status = 413
    code = "payload_too_large"
    default_message = _l("The request is too large: files are limited to 20 MB.")


class TooManyRequests(AppError):
    status = 429
    code = "too_many_requests"


class OutcomeUnknown(AppError):
    """The connection to the database was lost while a COMMIT was on its way: the change may or may not
    have been saved (the client repeats it with the same idempotency key to find out)."""

    status = 503
    code = "outcome_unknown"
    default_message = _l(
        "The connection to the database was lost while this posting was being saved; it may or may not have been "
        "saved. Repeat it with the same Idempotency-Key: if it was saved, that returns it, and it is never posted "
        "twice.")


class ServerError(AppError):
    status = 500
    code = "server_error"
    default_message = _l("An unexpected error occurred; nothing was saved.")
