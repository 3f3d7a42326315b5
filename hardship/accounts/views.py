"""Login, logout and user management pages."""

from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import select

from hardship.accounts import operations as ops
from hardship.accounts.forms import LoginForm, PasswordForm, UserEditForm, UserForm
from hardship.accounts.models import User
from hardship.accounts.schemas import PasswordChange, UserCreate, UserUpdate
from hardship.api import load_data
from hardship.core.db import db
from hardship.core.errors import AppError
from hardship.core.i18n import current_lang
from hardship.web import home_url, safe_next, submit, tenant_blueprint
from tenants.levels import ROLES
from tenants.models import Tenant
from tenants.scoping import get_owned, get_tenant, subtree_filter

bp = Blueprint("accounts_ui", __name__)
tenant_bp = tenant_blueprint("accounts_tenant_ui", __name__)


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("web.index"))
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        try:
            user = ops.authenticate(form.username.data, form.password.data)
        except AppError as exc:  # the refusal's count and audit entry commit with the request
            flash(str(exc.message), "error")
            status = exc.status
        else:
            login_user(user)
            return redirect(safe_next(request.args.get("next")) or home_url(user))
    return render_template("accounts/login.html", form=form), status


@bp.route("/logout", methods=["POST"])
def logout():
    if current_user.is_authenticated:
        ops.end_sessions(current_user, tokens=False)
    logout_user()
    flash(str(_l("You have logged out.")), "info")
    return redirect(url_for("accounts_ui.login"))


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def password():
    """Change one's own password: every other session and API token of the user ends, this one goes on."""
    form = PasswordForm()
    status = 200
    if form.validate_on_submit():
        def change():
            data = load_data(PasswordChange, {"current": form.current.data, "new": form.new.data,
                                              "repeat": form.repeat.data or ""})
            ops.change_own_password(current_user, data["current"], data["new"])

        if submit(form, change, _l("Your password was changed; your other sessions and API tokens have ended.")):
            login_user(current_user._get_current_object())  # this session carries the new stamp
            return redirect(url_for("accounts_ui.password"))
        status = getattr(form, "error_status", 422)
    return render_template("accounts/password.html", form=form), status


def _tenant_choices(root: Tenant):
    tenants = db.session.scalars(select(Tenant).where(subtree_filter(Tenant, root.path))
                                 .order_by(Tenant.path).limit(2000))
    return [(t.code, f"{t.code} {t.name}") for t in tenants]


def _role_choices(tenant: Tenant):
    return [(r, str(ROLES[r])) for r in tenant.plugin.roles]


@tenant_bp.route("/users", methods=["GET", "POST"])
def users():
    ops.require(current_user, "users.manage")
    tenant = g.tenant
    form = UserForm()
    form.tenant.choices = _tenant_choices(tenant)
    target = tenant
    if request.method == "POST" and form.tenant.data:
        target = get_tenant(form.tenant.data)
    form.roles.choices = [(r, str(ROLES[r])) for r in ROLES]
    if form.validate_on_submit():
        def create():
            data = load_data(UserCreate, {"username": form.username.data, "password": form.password.data,
                                          "display_name": form.display_name.data, "roles": form.roles.data})
            ops.create_user(target, data["username"], data["password"], data["roles"], data["display_name"],
                            actor=current_user)

        if submit(form, create, _l("The user was created.")):
            return redirect(url_for("accounts_tenant_ui.users"))
    elif request.method == "GET":
        form.tenant.data = tenant.code
    listed = db.session.scalars(
        select(User).join(Tenant, Tenant.id == User.tenant_id)
        .where(subtree_filter(User, tenant.path), Tenant.depth <= tenant.depth + 1)
        .order_by(Tenant.path, User.username).limit(500)
    ).all()
    return render_template("accounts/users.html", form=form, users=listed, tenant=tenant, roles=ROLES,
                           lang=current_lang())


@tenant_bp.route("/users/<int:user_id>", methods=["GET", "POST"])
def edit_user(user_id):
    ops.require(current_user, "users.manage")
    user = get_owned(User, user_id, g.tenant)
    form = UserEditForm(obj=None if request.method == "POST" else user)
    form.roles.choices = _role_choices(user.tenant)
    if request.method == "GET":
        form.roles.data = user.roles
        form.active.data = user.active
    if form.validate_on_submit():
        def update():
            changes = {"display_name": form.display_name.data, "roles": form.roles.data, "active": form.active.data}
            if form.password.data:  # empty: keep the password
                changes["password"] = form.password.data
            ops.update_user(user, actor=current_user, **load_data(UserUpdate, changes))

        if submit(form, update, _l("The user was updated.")):
            return redirect(url_for("accounts_tenant_ui.users"))
    return render_template("accounts/edit_user.html", form=form, user=user, tenant=g.tenant)
