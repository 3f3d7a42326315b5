"""The file's columns: their Chinese headers (the file format's contract), the field path each fills, and
the Chinese words the file may use for the schema's choices."""

from __future__ import annotations

import re
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from hardship.archives.models import (
    CATEGORIES,
    INSURANCE,
    REASONS,
    RELATIONS,
    SUBSISTENCE,
)

MEMBER_GROUPS = 3

#: Chinese labels of the choices (SPEC 3.2 and the archive's own words); the keys are accepted too
CATEGORY_LABELS = {"deep": "深度困难", "relative": "相对困难", "accident": "意外致困"}
REASON_LABELS = {"illness": "因病", "disability": "因残", "education": "因学", "disaster": "因灾",
                 "accident": "因意外", "unemployment": "下岗失业", "low_income": "低收入",
                 "single_parent": "单亲", "other": "其他"}
SUBSISTENCE_LABELS = {"none": "无", "dibao": "低保", "edge": "低保边缘户", "tekun": "特困供养"}
INSURANCE_LABELS = {"employee": "职工医保", "resident": "城乡居民医保", "none": "未参保"}
RELATION_LABELS = {"spouse": "配偶", "child": "子女", "parent": "父母", "sibling": "兄弟姐妹",
                   "grandchild": "孙子女", "grandparent": "祖父母", "other": "其他亲属"}
#: further spellings people use
_ALIASES = {
    "reasons": {"病": "illness", "残": "disability", "学": "education", "灾": "disaster", "意外": "accident",
                "失业": "unemployment", "下岗": "unemployment"},
    "subsistence": {"否": "none", "低保户": "dibao", "低保边缘": "edge", "特困": "tekun", "特困人员": "tekun"},
    "medical_insurance": {"职工基本医疗保险": "employee", "居民医保": "resident", "城乡居民基本医疗保险": "resident",
                          "无": "none", "否": "none"},
    "relation": {"夫妻": "spouse", "丈夫": "spouse", "妻子": "spouse", "儿子": "child", "女儿": "child",
                 "父亲": "parent", "母亲": "parent", "兄弟": "sibling", "姐妹": "sibling", "外孙子女": "grandchild",
                 "孙子女/外孙子女": "grandchild", "外祖父母": "grandparent", "祖父母/外祖父母": "grandparent",
                 "其他": "other"},
}
for _labels, _keys in [(CATEGORY_LABELS, CATEGORIES), (REASON_LABELS, REASONS), (SUBSISTENCE_LABELS, SUBSISTENCE),
                       (INSURANCE_LABELS, INSURANCE), (RELATION_LABELS, RELATIONS)]:
    assert set(_labels) == set(_keys), "every choice of the archive needs its Chinese label for the importer"

@dataclass(frozen=True)
class Column:
    """One column of the file: its header (the file format's contract, so not translated), the path
    of its field (as in the API and in ``schemas.HouseholdIn``'s errors), how to read it, whether the
    column must be present, and its explanation in the template."""

    header: str
    field: str
    kind: str  # text | id | phone | card | money | flag | choice | reasons | tenant
    required: bool = False
    help: object = None
    choices: dict | None = None


def labels_text(labels: dict) -> str:
    return "、".join(labels.values())


COLUMNS: tuple[Column, ...] = (
    Column("户主姓名", "head.name", "text", True, _l("Name of the head of the household (the worker), 1 to 50 characters.")),
    Column("身份证号", "head.id_number", "id", True,
           _l("Resident ID number, 18 characters (15-digit numbers are converted). Format the column as text, "
              "or Excel rounds the number.")),
    Column("联系电话", "head.phone", "phone", True,
           _l("A mobile number (11 digits) or a landline with area code, e.g. 0311-86012345.")),
    Column("所在单位编码", "tenant", "tenant", False,
           _l("Code of the union holding the household, below the importing union; empty: the importing union "
              "itself.")),
    Column("工作岗位", "head.job", "text", False, _l("Job of the head (optional).")),
    Column("是否工会会员", "head.union_member", "flag", False, _l("是 or 否 (empty: 是).")),
    Column("是否劳模", "head.model_worker", "flag", False, _l("是 or 否 (empty: 否).")),
    Column("劳模级别", "head.model_worker_grade", "text", False, _l("Grade of the model worker title (optional).")),
    Column("是否农民工", "head.migrant_worker", "flag", False, _l("是 or 否 (empty: 否).")),
    Column("困难类别", "category", "choice", True, _l("One of: %(choices)s.", choices=labels_text(CATEGORY_LABELS)),
           CATEGORY_LABELS),
    Column("致困原因", "reasons", "reasons", True,
           _l("The primary reason first, then any others, separated by 、 or commas: %(choices)s.",
              choices=labels_text(REASON_LABELS)), REASON_LABELS),
    Column("家庭人均月收入", "income_per_capita", "money", True,
           _l("Yuan per person and month, at most two decimals, e.g. 850.00.")),
    Column("低保情况", "subsistence", "choice", False,
           _l("One of: %(choices)s (empty: 无).", choices=labels_text(SUBSISTENCE_LABELS)), SUBSISTENCE_LABELS),
    Column("医疗保险", "medical_insurance", "choice", False,
           _l("One of: %(choices)s (empty: 职工医保).", choices=labels_text(INSURANCE_LABELS)), INSURANCE_LABELS),
    Column("家庭住址", "address", "text", True, _l("Home address, at most 200 characters.")),
    Column("开户银行", "bank.name", "text", False, _l("The bank of the card; required with a card number.")),
    Column("银行卡号", "bank.card_number", "card", False, _l("16 to 19 digits; format the column as text.")),
    Column("银行卡号已核对", "bank.confirmed", "flag", False,
           _l("是 when a card number that fails the check digit test has been checked against the card.")),
    Column("诉求", "needs", "text", False, _l("What the household asks for (optional, at most 1,000 characters).")),
    Column("第一责任人", "cadres.first", "text", False, _l("First responsible cadre for pairing assistance (optional).")),
    Column("第二责任人", "cadres.second", "text", False, _l("Second responsible cadre (optional).")),
) + tuple(
    Column(f"成员{g}{label}", f"members.{g - 1}.{key}", kind, False, help_text, choices)
    for g in range(1, MEMBER_GROUPS + 1)
    for label, key, kind, help_text, choices in (
        ("姓名", "name", "text", _l("Member's name."), None),
        ("身份证号", "id_number", "id", _l("Member's ID number (text, like the head's)."), None),
        ("与户主关系", "relation", "choice", _l("One of: %(choices)s.", choices=labels_text(RELATION_LABELS)),
         RELATION_LABELS),
        ("健康状况", "health", "text", _l("Health (optional)."), None),
        ("就学就业情况", "occupation", "text", _l("School or work (optional)."), None),
        ("月收入", "income", "money", _l("Member's monthly income in yuan (empty: 0)."), None),
    )
)
COLUMN_BY_HEADER = {c.header: c for c in COLUMNS}
COLUMN_BY_FIELD = {c.field: c for c in COLUMNS}
REQUIRED_HEADERS = [c.header for c in COLUMNS if c.required]
MEMBER_RE = re.compile(r"^members\.(\d+)\.(.+)$")


def _choice_map(field_name: str, labels: dict) -> dict[str, str]:
    mapping = {k: k for k in labels}
    mapping.update({v: k for k, v in labels.items()})
    mapping.update(_ALIASES.get(field_name, {}))
    return mapping


CHOICES = {
    "category": _choice_map("category", CATEGORY_LABELS),
    "reasons": _choice_map("reasons", REASON_LABELS),
    "subsistence": _choice_map("subsistence", SUBSISTENCE_LABELS),
    "medical_insurance": _choice_map("medical_insurance", INSURANCE_LABELS),
    "relation": _choice_map("relation", RELATION_LABELS),
}

