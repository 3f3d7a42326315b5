"""Extensions, created once and bound to an app in ``create_app``."""

from flask_babel import Babel
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_wtf.csrf import CSRFProtect

from hardship.core.db import db

babel = Babel()
login_manager = LoginManager()
csrf = CSRFProtect()
migrate = Migrate()

__all__ = ["db", "babel", "login_manager", "csrf", "migrate"]
