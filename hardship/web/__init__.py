"""Web UI plumbing: tenant-scoped blueprints, the request's transaction, the layout's context, the
language switch."""

from __future__ import annotations

from functools import wraps

from flask import Blueprint, abort, current_app, flash, g, redirect, request, url_for
from flask_babel import get_locale, gettext
from flask_login import current_user

from hardship.core.db import commit, db
from hardship.core.errors import AppError, ValidationFailed
from hardship.core.fields import max_length_of
from hardship.core.i18n import COOKIE, LOCALES, current_lang
from hardship.core.money import fen_of, format_fen

bp = Blueprint("web", __name__)


def tenant_blueprint(name: str, import_name: str, **kwargs) -> Blueprint:
    """A UI blueprint under ``/t/<tenant_code>``: the tenant is loaded inside the user's subtree
    (404 otherwise) into ``g.tenant``, and ``url_for`` fills ``tenant_code`` in by itself."""
    blueprint = Blueprint(name, import_name, url_prefix="/t/<tenant_code>", **kwargs)

    @blueprint.url_value_preprocessor
    def _pull_tenant(endpoint, values):
        g.tenant_code = (values or {}).pop("tenant_code", None)

    @blueprint.before_request
    def _load_tenant():
        if not current_user.is_authenticated:
            return current_app.login_manager.unauthorized()
        from tenants.scoping import get_tenant

        g.tenant = get_tenant(g.tenant_code)
        return None

    @blueprint.url_defaults
    def _add_tenant(endpoint, values):
        if "tenant_code" not in values and g.get("tenant") is not None:
            if current_app.url_map.is_endpoint_expecting(endpoint, "tenant_code"):
                values["tenant_code"] = g.tenant.code

    return blueprint


def safe_next(target: str | None) -> str | None:
    """``target`` if it is a path on this site (no scheme, no ``//`` or ``\\`` host tricks), else None."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    if any(ord(c) < 32 for c in target):
        return None
    return target


def transactional(view):
    """The request owns the transaction, as the API's ``route()``: a page's view commits once, when it
    returns, and rolls back on any exception (every UI view is wrapped by :func:`init_app`)."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        try:
            response = view(*args, **kwargs)
            commit()  # a connection lost while committing: 503 outcome_unknown
        except BaseException:
            db.session.rollback()
            raise
        for message in g.pop("_success_messages", ()):  # said only once it is saved
            flash(message, "success")
        return response

    return wrapper


def submit(form, action, success_message, *, field_map: dict | None = None) -> bool:
    """Run ``action()`` for a validated form; the request commits it, then flashes ``success_message``. On an :class:`AppError`,
    roll back and put the messages on the form's fields (or flash them), and the error's HTTP status on
    ``form.error_status`` (for the re-rendered page). Returns True on success."""
    try:
        action()
        db.session.flush()  # a constraint refuses it here, before the success is flashed
    except ValidationFailed as exc:
        db.session.rollback()
        form.error_status = exc.status
        for name, messages in exc.fields.items():
            field = getattr(form, (field_map or {}).get(name, name), None)
            msgs = messages if isinstance(messages, list) else [messages]
            if field is not None and hasattr(field, "errors"):
                field.errors = list(field.errors) + [m if isinstance(m, dict) else str(m) for m in msgs]
            else:
                flash(field_error_text(form, name, msgs), "error")
        return False
    except AppError as exc:
        db.session.rollback()
        if exc.status == 404:
            abort(404)
        form.error_status = exc.status
        for name, messages in exc.fields.items():
            field = getattr(form, (field_map or {}).get(name, name), None)
            if field is not None and hasattr(field, "errors"):
                field.errors = list(field.errors) + [str(m) for m in messages]
        flash(str(exc.message), "error")
        return False
    g.setdefault("_success_messages", []).append(str(success_message))  # flashed after the commit
    return True


class SchemaLimits:
    """A form mixin: ``limits = (Schema, {"form_field": "schema.path", ...})`` gives each of those inputs the
    ``maxlength`` of the schema's rule, so the page stops the typing where the rule would refuse it."""

    limits: tuple = ()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.limits:
            schema, paths = self.limits
            for name, path in paths.items():
                length = max_length_of(schema, path)
                if length:
                    self[name].render_kw = {**(self[name].render_kw or {}), "maxlength": length}


def field_error_text(form, name: str, messages) -> str:
    """A refusal of a value the form has no input for (``bank.confirmed``, ``members``), for people: named by
    the label of the form's input for its first part when there is one, never by the schema's field path."""
    text = " ".join(str(m) for m in (_flat(messages)))
    field = getattr(form, name.split(".")[0], None)
    label = getattr(getattr(field, "label", None), "text", None)
    return gettext("%(label)s: %(value)s", label=label, value=text) if label else text


def _flat(messages):
    if isinstance(messages, dict):
        for inner in messages.values():
            yield from _flat(inner)
    elif isinstance(messages, list | tuple):
        for inner in messages:
            yield from _flat(inner)
    else:
        yield messages


def _menu():
    tenant = g.get("tenant")
    if tenant is None or not current_user.is_authenticated:
        return []
    plugin = tenant.plugin
    entries = []
    for entry in (plugin.menu if plugin else ()):
        if entry.endpoint not in current_app.view_functions:
            continue
        if entry.capability and not current_user.can(entry.capability):
            continue
        entries.append({"url": url_for(entry.endpoint), "label": entry.label, "endpoint": entry.endpoint})
    return entries


def home_url(user) -> str:
    """Where ``user`` lands after logging in: its union's home, whose panels are those of its roles (the
    dashboard of SPEC 6.5 for a reviewer, see ``tenants.levels.STANDARD_PANELS``)."""
    return url_for("tenants_ui.home", tenant_code=user.tenant.code)


@bp.route("/")
def index():
    if current_user.is_authenticated:
        return redirect(home_url(current_user))
    return redirect(url_for("accounts_ui.login"))


@bp.route("/favicon.ico")
def favicon():
    return redirect(url_for("static", filename="img/favicon.svg"), code=301)


@bp.route("/lang/<lang>")
def set_language(lang):
    if lang not in LOCALES:
        abort(404)
    response = redirect(safe_next(request.args.get("next")) or "/")
    response.set_cookie(COOKIE, lang, max_age=365 * 86400, httponly=True, samesite="Lax",
                        secure=current_app.config.get("SESSION_COOKIE_SECURE", False))
    return response


def money(value) -> str:
    """An amount for people: fen (int) or a decimal string, with thousands separators (1,200,000.00); the
    templates' ``money()``."""
    if value is None or value == "":
        return ""
    return format_fen(value if isinstance(value, int) else fen_of(value), grouped=True)


def init_app(app) -> None:
    """Called once every blueprint is registered: the UI's views get their transaction (the API's
    ``route()`` owns its own)."""
    app.register_blueprint(bp)
    for endpoint, view in list(app.view_functions.items()):
        if endpoint != "static" and endpoint.split(".")[0] != "api":
            app.view_functions[endpoint] = transactional(view)

    app.add_template_global(money, "money")

    @app.context_processor
    def _layout():
        return {"menu": _menu(), "current_tenant": g.get("tenant"), "lang": current_lang(),
                "locale": str(get_locale()).replace("_", "-").replace("zh-Hans-CN", "zh-CN")}
