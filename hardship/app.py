"""The application factory."""

from __future__ import annotations

import importlib
import os
import pkgutil

from flask import Flask, jsonify, render_template, request
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError, OperationalError
from werkzeug.exceptions import HTTPException

from hardship import config as config_module
from hardship.core import errors
from hardship.extensions import babel, csrf, db, login_manager, migrate

#: packages whose ``views`` (a ``bp`` Blueprint) and ``api`` modules are discovered
DOMAIN_PACKAGES = ("hardship", "tenants")
REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _discover(suffix: str) -> list:
    """Import every ``<package>[.<subpackage>...].<suffix>`` that exists (``hardship.archives.views``,
    ``hardship.archives.importing.views``)."""
    found = []
    for top in DOMAIN_PACKAGES:
        package = importlib.import_module(top)
        names = [top] + [m.name for m in pkgutil.walk_packages(package.__path__, prefix=f"{top}.") if m.ispkg]
        for name in names:
            try:
                found.append(importlib.import_module(f"{name}.{suffix}"))
            except ModuleNotFoundError as exc:
                if exc.name != f"{name}.{suffix}":
                    raise
    return found


def create_app(test_config: dict | None = None) -> Flask:
    app = Flask(__name__, instance_path=os.environ.get("HARDSHIP_INSTANCE", os.path.join(REPO_ROOT, "instance")),
                instance_relative_config=True)
    app.config.from_mapping(config_module.load(app.instance_path, test_config))
    app.json.ensure_ascii = False  # Chinese stays readable in API responses

    db.init_app(app)
    from hardship.core import i18n, security
    babel.init_app(app, locale_selector=i18n.select_locale)
    login_manager.init_app(app)
    csrf.init_app(app)
    migrate.init_app(app, db, directory=os.path.join(REPO_ROOT, "migrations"))
    security.init_app(app)

    from tenants import scoping
    scoping.init_app(app)
    _install_runtime_role(app)

    from hardship.accounts import auth
    auth.init_app(app)

    _discover("models")
    _discover("jobs")
    _discover("audit_actions")
    from flask import Blueprint
    for module in _discover("views"):
        for value in vars(module).values():
            if isinstance(value, Blueprint) and value.import_name == module.__name__:
                app.register_blueprint(value)
    from hardship.api import api, openapi  # noqa: F401 (openapi serves /openapi.json)
    _discover("api")
    csrf.exempt(api)
    app.register_blueprint(api)

    from tenants.levels import registry
    for plugin in registry:
        for bp in plugin.get_blueprints():
            app.register_blueprint(bp)

    _register_error_handlers(app)
    from hardship.web import init_app as init_web
    init_web(app)
    from hardship.cli import cli
    for module in _discover("cli"):
        for command in getattr(module, "commands", ()):
            cli.add_command(command)
    app.cli.add_command(cli)
    return app


def _install_runtime_role(app: Flask) -> None:
    """On PostgreSQL, every pooled connection switches to the runtime role, under which
    row-level security applies (the owner and superusers bypass it)."""
    role = app.config.get("DATABASE_RUNTIME_ROLE")
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql") or not role:
        return
    from sqlalchemy import event

    with app.app_context():
        engine = db.engine

    @event.listens_for(engine, "connect")
    def _set_role(dbapi_conn, _record):
        cur = dbapi_conn.cursor()
        try:
            cur.execute("select 1 from pg_roles where rolname = %s", (role,))
            if cur.fetchone() is None:  # fail closed: never run as the owner, which bypasses RLS
                raise RuntimeError(f"database role {role!r} is missing: run `flask --app wsgi hardship init`")
            cur.execute(f'set role "{role}"')
        finally:
            cur.close()
        dbapi_conn.commit()


def _wants_json() -> bool:
    return request.path.startswith("/api/")


def _register_error_handlers(app: Flask) -> None:
    def render(err: errors.AppError):
        if _wants_json():
            return jsonify(err.to_dict()), err.status
        return render_template("error.html", error=err), err.status

    @app.errorhandler(errors.AppError)
    def _app_error(err):
        return render(err)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        mapping = {404: errors.NotFound, 405: errors.MethodNotAllowed, 401: errors.Unauthorized,
                   403: errors.Forbidden, 413: errors.PayloadTooLarge}
        cls = mapping.get(exc.code)
        if cls is not None:
            return render(cls())
        if exc.code == 400:
            message = getattr(exc, "description", None)
            from flask_wtf.csrf import CSRFError
            if isinstance(exc, CSRFError):
                message = _l("The form has expired or its security token is missing; reload the page and try again.")
            err = errors.BadRequest(message)
            err.code = "csrf_failed" if isinstance(exc, CSRFError) else "bad_request"
            return render(err)
        err = errors.AppError(exc.description)
        err.status, err.code = exc.code or 500, (exc.name or "error").lower().replace(" ", "_")
        return render(err)

    @app.errorhandler(IntegrityError)
    def _integrity(exc):
        db.session.rollback()
        app.logger.warning("integrity error: %s", exc.orig)
        return render(errors.Conflict())

    @app.errorhandler(OperationalError)
    def _operational(exc):
        db.session.rollback()
        app.logger.exception("database error")
        return render(errors.ServerError(_l("The database is busy or unavailable; nothing was saved. Try again.")))

    @app.errorhandler(Exception)
    def _unexpected(exc):
        db.session.rollback()
        app.logger.exception("unhandled error")
        return render(errors.ServerError())
