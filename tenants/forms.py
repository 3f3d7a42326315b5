from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField

from hardship.core.idcard import fold_digits
from hardship.web import SchemaLimits
from tenants import settings
from tenants.schemas import TenantCreate


class ChildTenantForm(SchemaLimits, FlaskForm):
    """Renders and carries the inputs; its data is loaded through :class:`tenants.schemas.TenantCreate`."""

    code = StringField(_l("Code"))
    name = StringField(_l("Name"))
    level = SelectField(_l("Level"), choices=[], validate_choice=False)
    division_code = StringField(_l("Division code"))
    limits = (TenantCreate, {"code": "code", "name": "name", "division_code": "division_code"})


class SettingInput:
    """One setting on the settings page: its label, unit, the value shown in its inputs and its errors."""

    def __init__(self, definition, current: dict):
        self.key, self.label, self.widget = definition.key, definition.label, definition.widget
        self.unit, self.parts = definition.unit, definition.parts or {}
        self.low, self.high = _bounds(definition.field)
        self.value, self.current = current["value"], current
        self.shown = settings.describe(definition.key, current["value"])
        self._errors: list[str] = []

    @property
    def errors(self) -> list[str]:
        return self._errors

    @errors.setter
    def errors(self, messages) -> None:
        """Messages as the settings' schema gives them; a part's messages (``{"warning_pct": [...]}``, possibly
        stringified by :func:`hardship.web.submit`) are named by the part's label, never its key."""
        self._errors = list(_flatten(messages, self.parts))

    def years(self) -> list[tuple[str, object]]:
        """A ratio table's rows (year, ratio), then three empty rows to add years."""
        rows = sorted((y, r) for y, r in (self.value or {}).items() if y != "default")
        return rows + [("", "")] * 3


def _flatten(messages, labels: dict):
    for message in messages if isinstance(messages, list | tuple) else [messages]:
        if isinstance(message, dict):
            for part, inner in message.items():
                label = labels.get(part)
                for text in _flatten(inner, {}):
                    yield gettext("%(label)s: %(value)s", label=label, value=text) if label else text
        else:
            yield str(message)


def _bounds(field) -> tuple[int | None, int | None]:
    for validator in getattr(field, "validators", ()):
        if hasattr(validator, "min") and hasattr(validator, "max"):
            return validator.min, validator.max
    return None, None


class SettingsForm(FlaskForm):
    """The settings page: one :class:`SettingInput` per setting (``form.publicity_days``), so :func:`submit` puts a
    refused value's message beside its input. :meth:`submitted` reads what changed."""

    def __init__(self, definitions: dict, values: dict, **kwargs):
        super().__init__(**kwargs)
        self.inputs = {key: SettingInput(definitions[key], values[key]) for key in values}

    def __getattr__(self, name):
        inputs = self.__dict__.get("inputs") or {}
        if name in inputs:
            return inputs[name]
        raise AttributeError(name)

    def submitted(self, formdata) -> dict:
        """``{key: raw value}`` of the settings whose inputs were filled in and differ from the current value;
        ``None`` for "use the inherited value". Values are checked by the settings' schema, not here."""
        changes = {}
        for key, item in self.inputs.items():
            if formdata.get(f"reset_{key}"):
                if not item.current["inherited"]:
                    changes[key] = None
                continue
            raw = _read(item, formdata)
            if raw is not None and raw != item.value:
                changes[key] = raw
        return changes


def _number(text: str):
    """A number typed in a box, as the settings' schema takes it (text it cannot read stays text, so the
    schema names the problem)."""
    text = fold_digits(text.strip())
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            return text


def _read(item: SettingInput, formdata):
    if item.widget == "parts":
        parts = {part: formdata.get(f"{item.key}.{part}", "").strip() for part in item.value}
        if not any(parts.values()):
            return None
        return {part: _number(text) if text else item.value[part] for part, text in parts.items()}
    if item.widget == "ratios":
        default = formdata.get(f"{item.key}.default", "").strip()
        years = formdata.getlist(f"{item.key}.year")
        ratios = formdata.getlist(f"{item.key}.ratio")
        if not default and not any(y.strip() for y in years):
            return None
        value = {"default": _number(default) if default else item.value.get("default")}
        for year, ratio in zip(years, ratios, strict=False):
            if year.strip() and ratio.strip():
                value[fold_digits(year.strip())] = _number(ratio)
        return value
    text = formdata.get(item.key, "").strip()
    return _number(text) if text else None
