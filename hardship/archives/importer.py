"""Bulk import of households from an xlsx workbook or a csv file (SPEC 3.7).

The file
--------
The first worksheet of an ``.xlsx`` workbook, or a ``.csv`` file in UTF-8 (with or without BOM)
or GB18030 (what Chinese Excel writes; tried when the file is not UTF-8). The header row is the
first row, or one of the first ten when a title sits above it; it names the columns in Chinese
as in the template (:func:`template_xlsx`, ``GET /api/v1/imports/households/template.xlsx``).
Columns may come in any order; unknown columns are ignored and listed in the result. One row is
one household (:data:`COLUMNS`):

户主姓名*, 身份证号*, 联系电话*, 所在单位编码, 工作岗位, 是否工会会员, 是否劳模, 劳模级别, 是否农民工,
困难类别*, 致困原因*, 家庭人均月收入*, 低保情况, 医疗保险, 家庭住址*, 开户银行, 银行卡号, 银行卡号已核对,
诉求, 第一责任人, 第二责任人 (* the column must be present), and up to three members as repeated
column groups 成员1姓名, 成员1身份证号, 成员1与户主关系, 成员1健康状况, 成员1就学就业情况, 成员1月收入,
then 成员2..., 成员3...; a group counts when any of its cells is filled. A household with more
members gets the others in the archive afterwards.

Choices accept the Chinese label or the key (困难类别: 深度困难/deep, 相对困难/relative,
意外致困/accident; 致困原因: 因病/illness, ..., several separated by 、 or commas, the primary
reason first). 所在单位编码 is the code of the union holding the household: a union in the
importing union's subtree in which the importing user may register households (empty: the
importing union itself).

The rules
---------
Every row is loaded through :class:`hardship.archives.schemas.HouseholdIn`, the schema of the API
and the forms (the file's Chinese words for choices are read as the schema's keys first); then one
person, one archive (SPEC 3.5) holds within the file (a person already in an earlier row is refused) and against every open household of the deployment. A household's
``import_key`` is the SHA-256 of the importing union's id and the head's normalised ID number: a
row whose household an earlier run created counts as *already imported* (never as rejected and
never changed), so running the same file again creates nothing new, and running again a file whose
import was stopped half-way completes it.

Accepted rows land in batches of :data:`BATCH_SIZE` rows of the file. Each batch is one
transaction of bulk inserts in which the unique indexes decide, so nothing can slip in between a
check and the insert: ``ON CONFLICT (import_key) DO NOTHING`` skips the households already
imported, and the partial unique index on the people's blind index refuses anyone already in an
open household (only then are the batch's people looked up, in bulk, for the holding union's name,
and the batch is inserted again without those rows). The job's progress is committed in the same
transaction, so whatever the job has reported as imported is in the database.
The verdicts are ``{"row", "field", "column", "message"}``: ``row`` is the spreadsheet's row number
(the header is row 1 in the template, so row 2 is the first household), ``field`` the field's path
as in the API (``head.id_number``, ``members.0.relation``, ``tenant``), ``column`` the file's column.

Files over :data:`MAX_BYTES` or :data:`MAX_ROWS` rows, files that are not what their name says,
damaged workbooks and archives that unpack to more than :data:`MAX_UNPACKED` bytes are refused as a
whole (:class:`ImportRefused`), before anything is written.
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import NamedTuple

from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from hardship.api import load_data
from hardship.archives import operations as ops
from hardship.archives.models import (
    CATEGORIES,
    INSURANCE,
    REASONS,
    RELATIONS,
    SUBSISTENCE,
    Household,
    HouseholdEvent,
    Person,
)
from hardship.archives.schemas import HouseholdIn
from hardship.core import audit, crypto
from hardship.core.db import db
from hardship.core.errors import AppError, NotFound, ValidationFailed
from hardship.core.idcard import FieldError, check_char, parse_id_number
from hardship.imports.models import ImportUpload
from tenants.models import Tenant
from tenants.scoping import get_owned, subtree_filter, system_scope

#: the largest file accepted (SPEC 3.7 / issue 3: 20 MB)
MAX_BYTES = 20 * 1024 * 1024
#: the most households in one file
MAX_ROWS = 100_000
#: the most an xlsx may unpack to (its XML parts, all together): a guard against zip bombs
MAX_UNPACKED = 300 * 1024 * 1024
MAX_ZIP_ENTRIES = 2000
#: rows of the file per transaction
BATCH_SIZE = 500
#: verdicts kept in the job's result (all of them are in the xlsx the job writes)
VERDICTS_IN_RESULT = 1000
#: how far down the header row is looked for (a title may sit above it)
HEADER_SEARCH_ROWS = 10
MEMBER_GROUPS = 3
EXTENSIONS = (".xlsx", ".csv")
UPLOAD_KIND = "households"
CONTENT_LABEL = "import_uploads.content"

# ---------------------------------------------------------------- the columns

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


def _labels_text(labels: dict) -> str:
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
    Column("困难类别", "category", "choice", True, _l("One of: %(choices)s.", choices=_labels_text(CATEGORY_LABELS)),
           CATEGORY_LABELS),
    Column("致困原因", "reasons", "reasons", True,
           _l("The primary reason first, then any others, separated by 、 or commas: %(choices)s.",
              choices=_labels_text(REASON_LABELS)), REASON_LABELS),
    Column("家庭人均月收入", "income_per_capita", "money", True,
           _l("Yuan per person and month, at most two decimals, e.g. 850.00.")),
    Column("低保情况", "subsistence", "choice", False,
           _l("One of: %(choices)s (empty: 无).", choices=_labels_text(SUBSISTENCE_LABELS)), SUBSISTENCE_LABELS),
    Column("医疗保险", "medical_insurance", "choice", False,
           _l("One of: %(choices)s (empty: 职工医保).", choices=_labels_text(INSURANCE_LABELS)), INSURANCE_LABELS),
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
        ("与户主关系", "relation", "choice", _l("One of: %(choices)s.", choices=_labels_text(RELATION_LABELS)),
         RELATION_LABELS),
        ("健康状况", "health", "text", _l("Health (optional)."), None),
        ("就学就业情况", "occupation", "text", _l("School or work (optional)."), None),
        ("月收入", "income", "money", _l("Member's monthly income in yuan (empty: 0)."), None),
    )
)
COLUMN_BY_HEADER = {c.header: c for c in COLUMNS}
COLUMN_BY_FIELD = {c.field: c for c in COLUMNS}
REQUIRED_HEADERS = [c.header for c in COLUMNS if c.required]
_MEMBER_RE = re.compile(r"^members\.(\d+)\.(.+)$")


def _choice_map(field_name: str, labels: dict) -> dict[str, str]:
    mapping = {k: k for k in labels}
    mapping.update({v: k for k, v in labels.items()})
    mapping.update(_ALIASES.get(field_name, {}))
    return mapping


_CHOICES = {
    "category": _choice_map("category", CATEGORY_LABELS),
    "reasons": _choice_map("reasons", REASON_LABELS),
    "subsistence": _choice_map("subsistence", SUBSISTENCE_LABELS),
    "medical_insurance": _choice_map("medical_insurance", INSURANCE_LABELS),
    "relation": _choice_map("relation", RELATION_LABELS),
}


# ---------------------------------------------------------------- refusing a file

class ImportRefused(ValidationFailed):
    """The file as a whole cannot be imported; nothing was written."""

    def __init__(self, message):
        super().__init__(message, fields={"file": [message]})


def check_upload(filename: str, content: bytes) -> str:
    """The cheap checks done when the file arrives: size, extension, and that the content is what the
    name says (an xlsx is a zip holding a workbook whose parts unpack to a sane size; a csv is text).
    Returns ``"xlsx"`` or ``"csv"``; raises :class:`ImportRefused`."""
    ext = os.path.splitext((filename or "").lower())[1]
    if not content:
        raise ImportRefused(_l("The file is empty."))
    if len(content) > MAX_BYTES:
        raise ImportRefused(_l("The file is larger than %(max)s; split it into smaller files.", max=_size(MAX_BYTES)))
    if ext not in EXTENSIONS:
        raise ImportRefused(_l("Only .xlsx workbooks and .csv files can be imported (save an .xls workbook as "
                               ".xlsx in Excel)."))
    is_zip = content.startswith(b"PK\x03\x04")
    is_ole = content.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1")
    if ext == ".xlsx":
        if is_ole:
            raise ImportRefused(_l("This is an old .xls workbook or a password-protected one: save it in Excel as "
                                   ".xlsx, without a password."))
        if not is_zip:
            raise ImportRefused(_l("The file is named .xlsx but is not an Excel workbook."))
        _check_zip(content, unpack=False)
        return "xlsx"
    if is_zip or is_ole:
        raise ImportRefused(_l("The file is named .csv but is an Excel workbook: save it as csv, or name it .xlsx."))
    if b"\x00" in content[:65536]:
        raise ImportRefused(_l("The file is named .csv but is not a text file."))
    decode_csv(content)
    return "csv"


def _size(n: int) -> str:
    return f"{n // (1024 * 1024)} MB" if n % (1024 * 1024) == 0 else f"{n // 1024} KB"


def decode_csv(content: bytes) -> str:
    """UTF-8 (with or without BOM), else GB18030, else refused."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return content.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ImportRefused(_l("The csv file is neither UTF-8 nor GB18030 text; save it from Excel as "
                           "\"CSV (comma delimited)\" or \"CSV UTF-8\"."))


def _damaged():
    return ImportRefused(_l("The workbook is damaged or not an .xlsx file; open it in Excel and save it again."))


def _too_big_unpacked():
    return ImportRefused(_l("The workbook unpacks to more than %(max)s; it cannot be imported.",
                            max=_size(MAX_UNPACKED)))


def _check_zip(content: bytes, unpack: bool) -> None:
    """An xlsx is a zip archive: check its directory (and, with ``unpack``, every part's real size and
    checksum, in a stream, before the workbook reader sees it)."""
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            infos = archive.infolist()
            if "xl/workbook.xml" not in {i.filename for i in infos}:
                raise ImportRefused(_l("The file is a zip archive but not an Excel workbook."))
            if len(infos) > MAX_ZIP_ENTRIES or sum(i.file_size for i in infos) > MAX_UNPACKED:
                raise _too_big_unpacked()
            if not unpack:
                return
            unpacked = 0
            for info in infos:
                with archive.open(info) as part:
                    while chunk := part.read(1 << 20):
                        unpacked += len(chunk)
                        if unpacked > MAX_UNPACKED:
                            raise _too_big_unpacked()
    except ImportRefused:
        raise
    except Exception:  # BadZipFile, zlib.error, an unsupported compression method: whatever a broken archive raises
        raise _damaged() from None


# ---------------------------------------------------------------- reading rows

@dataclass
class Table:
    """The rows of a file after its header: ``rows()`` yields ``(row number, cells)`` of the non-empty rows."""

    headers: list
    total: int
    _source: object
    _first: int  # index, in the source's rows, of the first row after the header
    _row_number: object  # source index -> spreadsheet row number

    def rows(self) -> Iterator[tuple[int, list]]:
        for index, cells in enumerate(self._source(), start=0):
            if index < self._first or _blank(cells):
                continue
            yield self._row_number(index), cells


def _blank(cells) -> bool:
    return all(c is None or (isinstance(c, str) and not c.strip()) for c in cells)


def _header_key(value) -> str:
    text = "" if value is None else str(value)
    return re.sub(r"[\s*＊]", "", text).replace("（", "(").replace("）", ")")


def open_table(kind: str, content: bytes) -> Table:
    """Read the file's rows (xlsx: python-calamine; csv: UTF-8 or GB18030) and find the header row.
    Raises :class:`ImportRefused` for anything that cannot be imported as a whole."""
    if kind == "xlsx":
        source, row_number = _xlsx_rows(content)
    else:
        source, row_number = _csv_rows(content)
    header_index, headers = None, None
    try:
        for index, cells in enumerate(source()):
            if index >= HEADER_SEARCH_ROWS:
                break
            keys = [_header_key(c) for c in cells]
            if "户主姓名" in keys and "身份证号" in keys:
                header_index, headers = index, keys
                break
    except csv.Error:
        raise ImportRefused(_l("The csv file cannot be read; save it from Excel as CSV again.")) from None
    if headers is None:
        raise ImportRefused(_l("No header row: the first row must hold the column headers of the template "
                               "(户主姓名, 身份证号, ...)."))
    seen: set[str] = set()
    for header in headers:
        if header in COLUMN_BY_HEADER and header in seen:
            raise ImportRefused(_l("The column %(column)s appears twice.", column=header))
        seen.add(header)
    missing = [h for h in REQUIRED_HEADERS if h not in seen]
    if missing:
        raise ImportRefused(_l("Required columns are missing: %(columns)s. Start from the template.",
                               columns="、".join(missing)))
    total = 0
    try:
        for index, cells in enumerate(source()):
            if index > header_index and not _blank(cells):
                total += 1
                if total > MAX_ROWS:
                    raise ImportRefused(_l("The file has more than %(max)s households; import at most %(max)s rows "
                                           "at a time.", max=f"{MAX_ROWS:,}"))
    except csv.Error:
        raise ImportRefused(_l("The csv file cannot be read; save it from Excel as CSV again.")) from None
    if total == 0:
        raise ImportRefused(_l("The file has no households below its header row."))
    return Table(headers, total, source, header_index + 1, row_number)


def _xlsx_rows(content: bytes):
    from python_calamine import CalamineWorkbook

    _check_zip(content, unpack=True)
    try:
        book = CalamineWorkbook.from_filelike(io.BytesIO(content))
        sheets = [m for m in book.sheets_metadata if str(m.typ).endswith("WorkSheet")]
        sheet = book.get_sheet_by_name(sheets[0].name) if sheets else book.get_sheet_by_index(0)
    except Exception:  # CalamineError, ZipError, XmlError, PasswordError, ...
        raise _damaged() from None
    start = sheet.start[0] if sheet.start else 0
    return sheet.iter_rows, (lambda index: start + index + 1)


def _csv_rows(content: bytes):
    text = decode_csv(content)
    first_line = text.split("\n", 1)[0]
    delimiter = "\t" if first_line.count("\t") > first_line.count(",") else ","
    return (lambda: csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)), (lambda index: index + 1)


# ---------------------------------------------------------------- one row

_SCIENTIFIC = re.compile(r"^\d+(?:\.\d+)?[eE]\+?\d+$")


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return str(value).strip()


def _rounded_number(value) -> bool:
    """An identifier that Excel kept as a number (and so rounded to 15 significant digits)."""
    if isinstance(value, float) and not isinstance(value, bool):
        return abs(value) >= 1e15
    return isinstance(value, str) and bool(_SCIENTIFIC.match(value.strip()))


@dataclass
class Prepared:
    """A row that passed every check that needs no database look-up."""

    row: int
    tenant_id: int
    keeper_id: int
    clean: dict
    import_key: str
    people: list  # (field path of the ID number, normalised ID number), head first


class _Slot(NamedTuple):
    """A column of the file as the importer reads it (computed once per file)."""

    index: int
    column: Column
    kind: str
    field: str
    parts: tuple
    group: int | None
    choices: dict | None


_REASON_SPLIT = re.compile(r"[,，、;；/\s]+")
_CURRENCY = re.compile(r"^[¥￥]|元$")


def _put(data: dict, parts: tuple, value) -> None:
    node = data
    for part in parts[:-1]:
        if part.isdigit():
            index = int(part)
            while len(node) <= index:
                node.append({})
            node = node[index]
        else:
            node = node.setdefault(part, [] if part == "members" else {})
    node[parts[-1]] = value


class HouseholdImport:
    """One run over one file: checks rows, lands them in batches, keeps the verdicts."""

    def __init__(self, tenant: Tenant, actor, *, job_id: str | None = None, upload_id: int | None = None,
                 filename: str = ""):
        self.tenant_id, self.tenant_path, self.tenant_name = tenant.id, tenant.path, tenant.name
        self.tenant_code = tenant.code
        self.actor, self.job_id, self.upload_id, self.filename = actor, job_id, upload_id, filename
        self.imported = 0
        self.already_imported = 0
        self.verdicts: list[dict] = []
        self.rejected_rows: set[int] = set()
        self._first_seen: dict[str, int] = {}
        self._targets: dict[str, tuple | object] = {}
        self._slots: list[_Slot] = []
        self._index: dict[str, int] = {}

    # -- the header

    def use_headers(self, headers: list[str]) -> list[str]:
        """Map the file's columns; returns the headers that are ignored."""
        ignored = []
        for index, header in enumerate(headers):
            column = COLUMN_BY_HEADER.get(header)
            if column is not None:
                member = _MEMBER_RE.match(column.field)
                name = column.field.rsplit(".", 1)[-1]
                self._slots.append(_Slot(index, column, column.kind, column.field, tuple(column.field.split(".")),
                                         int(member.group(1)) if member else None, _CHOICES.get(name)))
                self._index[column.field] = index
            elif header:
                ignored.append(header)
        return ignored

    # -- verdicts

    def _reject(self, row: int, errors: dict) -> None:
        self.rejected_rows.add(row)
        for path, messages in errors.items():
            column = COLUMN_BY_FIELD.get(path)
            msgs = messages if isinstance(messages, list | tuple) else [messages]
            self.verdicts.append({"row": row, "field": path, "column": column.header if column else "",
                                  "message": " ".join(str(m) for m in msgs)})

    # -- the target union of a row

    def _target(self, code: str):
        """``(tenant id, keeper id)`` for the code in the file, or the message why it cannot hold the row."""
        code = code.strip().upper() or self.tenant_code
        if code not in self._targets:
            tenant = db.session.scalar(select(Tenant).where(Tenant.code == code,
                                                            subtree_filter(Tenant, self.tenant_path)))
            if tenant is None:
                result = _l("There is no union with the code %(code)s below %(union)s.", code=code,
                            union=self.tenant_name)
            elif not ops.may_register_in(tenant, self.actor):
                result = _l("Only the union itself or the union keeping its archive registers households.")
            else:
                result = (tenant.id, ops.archive_keeper(tenant).id)
            self._targets[code] = result
        return self._targets[code]

    # -- checking a row

    def check_row(self, row: int, cells: list) -> Prepared | None:
        errors: dict = {}
        data: dict = {}
        groups: set[int] = set()  # member groups (0-based) present in this row
        target = None
        width = len(cells)
        for slot in self._slots:
            raw = cells[slot.index] if slot.index < width else None
            if raw is None or raw == "":
                continue
            text = _text(raw)
            if not text:
                continue
            if slot.group is not None:
                groups.add(slot.group)
            kind = slot.kind
            if kind == "tenant":
                target = self._target(text)
                if not isinstance(target, tuple):
                    errors["tenant"] = [target]
                data["tenant"] = text
                continue
            if kind in ("id", "card") and _rounded_number(raw):
                errors[slot.field] = [_l("Excel kept this number as a number and rounded it (%(value)s): format "
                                         "the column as text and type the number again.", value=text)]
                continue
            if kind == "choice":  # the file's words (Chinese labels) for the schema's keys
                value = slot.choices.get(text.replace(" ", "")) or slot.choices.get(text.lower())
                if value is None:
                    errors[slot.field] = [_l("Unknown value %(value)s; write one of: %(choices)s.", value=text,
                                             choices=_labels_text(slot.column.choices))]
                    continue
            elif kind == "reasons":
                words = [w for w in _REASON_SPLIT.split(text) if w]
                value = [slot.choices.get(w) or slot.choices.get(w.lower()) for w in words]
                unknown = [w for w, v in zip(words, value, strict=True) if v is None]
                if unknown:
                    errors["reasons"] = [_l("Unknown reasons: %(r)s; write them as %(choices)s.",
                                            r="、".join(unknown), choices=_labels_text(REASON_LABELS))]
                    continue
            elif kind == "money":
                value = _CURRENCY.sub("", text).strip()
            else:
                value = text
            _put(data, slot.parts, value)
        members_present = sorted(groups)
        if target is None:
            target = self._target("")
            if not isinstance(target, tuple):
                errors["tenant"] = [target]
        data.setdefault("tenant", self.tenant_code)
        # members as the schema numbers them (only the groups present), mapped back to the file's groups
        members = data.pop("members", [])
        data["members"] = [members[g] if g < len(members) else {} for g in members_present]
        try:
            clean = load_data(HouseholdIn, data)
        except ValidationFailed as exc:
            clean = None
            for path, messages in exc.fields.items():
                match = _MEMBER_RE.match(path)
                if match:
                    path = f"members.{members_present[int(match.group(1))]}.{match.group(2)}"
                errors.setdefault(path, messages)
        people = self._people(row, cells, members_present, clean, errors)
        if errors:
            self._reject(row, errors)
            return None
        head_number = clean["head"]["id_number"]
        key = hashlib.sha256(f"{self.tenant_id}:{head_number}".encode()).hexdigest()
        return Prepared(row, target[0], target[1], clean, key, people)

    def _people(self, row: int, cells: list, groups: list[int], clean: dict | None, errors: dict) -> list:
        """The row's ID numbers that could be read, head first; one person, one archive within the file."""
        if clean is not None:
            found = [("head.id_number", clean["head"]["id_number"])] + [
                (f"members.{g}.id_number", m["id_number"]) for g, m in zip(groups, clean["members"], strict=True)]
        else:
            found = []
            for path in ["head.id_number", *[f"members.{g}.id_number" for g in groups]]:
                index = self._index.get(path)
                if index is None or index >= len(cells):
                    continue
                try:
                    found.append((path, parse_id_number(_text(cells[index])).number))
                except FieldError:
                    continue
        for path, number in found:
            earlier = self._first_seen.setdefault(number, row)
            if earlier != row and path not in errors:
                errors[path] = [_l("The same person is already in row %(row)d of this file.", row=earlier)]
        return found

    # -- landing a batch

    def land(self, batch: list[Prepared]) -> list[int]:
        """Insert the prepared rows; returns the new households' ids. The unique indexes decide: a household
        whose import key exists is already imported, and a person active in any household of the deployment
        rejects the row (SPEC 3.5): only when the insert collides are the batch's people looked up (one bulk
        query, for the holding union's name); no look-up precedes the insert, so nothing slips in between."""
        pending = list(batch)
        for _attempt in range(5):
            if not pending:
                return []
            try:
                with db.session.begin_nested():
                    ids, skipped = self._insert(pending)
            except _Collision as collision:  # the savepoint is rolled back: find who is taken, insert the others
                rejected = self._reject_taken(collision.rows)
                if not rejected:
                    raise collision.__cause__ from None  # not the one-person rule
                pending = [p for p in pending if p.row not in rejected]
                continue
            self.already_imported += skipped
            self.imported += len(ids)
            return ids
        raise RuntimeError("the import keeps colliding with concurrent registrations")

    def _reject_taken(self, rows: list[Prepared]) -> set[int]:
        """Reject the rows (new households only) that hold someone already archived; returns their numbers."""
        holders = ops.holder_of([number for p in rows for _path, number in p.people])
        rejected = set()
        for p in rows:
            held = {path: [_l("Already in an open household archive of %(union)s.", union=holders[n])]
                    for path, n in p.people if n in holders}
            if held:
                self._reject(p.row, held)
                rejected.add(p.row)
        return rejected

    def _insert(self, rows: list[Prepared]) -> tuple[list[int], int]:
        """Bulk inserts (households, their people, their history); returns the new ids and how many rows
        were already imported. Raises :class:`_Collision` with the new households' rows when someone is
        already archived (the partial unique index on the people's blind index is the one-person rule)."""
        today = date.today()
        actor_id = getattr(self.actor, "id", None)
        # translated once per batch; the row number goes where the (never printed) NUL stands
        reason = _("Imported from %(file)s, row %(row)s.", file=self.filename, row="\x00")
        households = [ops.household_columns(p.clean, tenant_id=p.tenant_id, keeper_id=p.keeper_id, applied_on=today,
                                            import_key=p.import_key, created_by_id=actor_id) for p in rows]
        # batched RETURNING, matched by import key (asking for parameter order is row by row on SQLite)
        table = Household.__table__
        statement = _insert_or_skip(table, ["import_key"]).returning(table.c.import_key, table.c.id)
        by_key = dict(db.session.execute(statement, households).all())
        skipped = len(rows) - len(by_key)
        rows = [p for p in rows if p.import_key in by_key]
        ids = [by_key[p.import_key] for p in rows]
        people, events = [], []
        for p, household_id in zip(rows, ids, strict=True):
            c = p.clean
            people.extend({**ops.person_columns(person, p.tenant_id), "household_id": household_id}
                          for person in [c["head"], *c["members"]])
            events.append({
                "tenant_id": p.tenant_id, "household_id": household_id, "user_id": actor_id,
                "username": getattr(self.actor, "username", None), "action": "import", "episode": 1,
                "from_status": None, "to_status": "applied",
                "reason": reason.replace("\x00", str(p.row)),
                "changes": {**ops.application_changes(c),
                            "import": {"job": self.job_id, "upload": self.upload_id, "row": p.row}},
            })
        if people:
            try:
                db.session.execute(insert(Person.__table__), people)
            except IntegrityError as exc:
                raise _Collision(rows) from exc
        if events:
            db.session.execute(insert(HouseholdEvent.__table__), events)
        return ids, skipped

    def result(self, total: int) -> dict:
        return {"file": self.filename, "imported": self.imported, "already_imported": self.already_imported,
                "rejected_rows": len(self.rejected_rows), "rejected": self.verdicts[:VERDICTS_IN_RESULT],
                "rejected_complete": len(self.verdicts) <= VERDICTS_IN_RESULT, "rows": total}


class _Collision(Exception):
    """Someone among the people of these new households is already archived."""

    def __init__(self, rows: list):
        super().__init__(f"{len(rows)} households collide")
        self.rows = rows


def _insert_or_skip(table, columns: list[str], where=None):
    """``INSERT ... ON CONFLICT (columns) [WHERE ...] DO NOTHING`` on PostgreSQL and SQLite."""
    from sqlalchemy.dialects import postgresql, sqlite

    dialect = db.session.get_bind().dialect.name
    construct = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return construct(table).on_conflict_do_nothing(index_elements=columns, index_where=where)


def _checkpoint(batch_number: int) -> None:
    """Called after each committed batch: a seam for tests that stop an import half-way."""


# ---------------------------------------------------------------- starting and running an import

def _safe_filename(name: str | None) -> str:
    name = re.split(r"[\\/]", name or "")[-1]
    name = "".join(c for c in name if ord(c) >= 32 and c not in "<>\"|?*:").strip()
    if len(name) > 200:
        stem, ext = os.path.splitext(name)
        name = stem[: 200 - len(ext)] + ext
    return name or "upload"


def may_import(tenant: Tenant, actor) -> None:
    """The rule of ``register_household``: the union itself, or the union keeping its archive (403 otherwise)."""
    ops.require_register(tenant, actor)


def start_household_import(tenant: Tenant, filename: str, content: bytes, actor=None, *, locale: str | None = None,
                           inline: bool = False):
    """Check the upload (size, type, ...), store it encrypted for the worker and start the import job;
    returns the :class:`~hardship.core.jobs.Job` (already finished when it ran inline)."""
    from hardship.archives.jobs import import_households

    may_import(tenant, actor)
    filename = _safe_filename(filename)
    check_upload(filename, content)
    upload = ImportUpload(tenant_id=tenant.id, kind=UPLOAD_KIND, user_id=getattr(actor, "id", None), filename=filename,
                          size=len(content), sha256=hashlib.sha256(content).hexdigest(),
                          locale=locale or "zh_Hans_CN", content_enc=crypto.encrypt_bytes(content, CONTENT_LABEL))
    db.session.add(upload)
    db.session.flush()
    audit.record("household.import_upload", tenant, upload, user=actor,
                 detail={"file": filename, "size": upload.size, "sha256": upload.sha256})
    start = import_households.run_inline if inline else import_households.enqueue
    return start(tenant, upload.id, user=actor)


def run_import(run, upload_id: int) -> dict:
    """The job: read the stored upload, check and land every row, write the verdicts (xlsx)."""
    try:
        upload = get_owned(ImportUpload, upload_id)
    except NotFound:  # outside the job's scope, or gone
        raise LookupError("upload not in scope") from None
    with force_locale(upload.locale or "zh_Hans_CN"):
        try:
            result = _run(run, upload)
        except Exception as exc:
            if isinstance(exc, AppError):
                exc.message = str(exc.message)  # in the job's language, before leaving force_locale
            db.session.rollback()  # what the failing batch left; the batches before it are committed
            _drop_content(upload_id)
            db.session.commit()
            raise
    _drop_content(upload_id)  # committed with the job's result
    return result


def _drop_content(upload_id: int) -> None:
    """The file holds personal data in clear: keep it no longer than its job needs it."""
    from sqlalchemy import update

    db.session.execute(update(ImportUpload).where(ImportUpload.id == upload_id, subtree_filter(ImportUpload))
                       .values(content_enc=None))


def _load_actor(user_id: int | None):
    """The user who started the import, detached so that it stays readable across the batches'
    commits (it may belong to an ancestor outside the job's scope: read deliberately)."""
    if user_id is None:
        return None
    from hardship.accounts.models import User

    with system_scope():
        user = db.session.scalar(select(User).where(User.id == user_id))
        if user is None:
            return None
        tenant = user.tenant
        db.session.expunge(user)
        db.session.expunge(tenant)
    return user


def _run(run, upload: ImportUpload) -> dict:
    tenant = db.session.scalar(select(Tenant).where(Tenant.id == upload.tenant_id))
    actor = _load_actor(upload.user_id)
    if upload.user_id is not None and actor is None:
        raise ImportRefused(_l("The user who uploaded the file no longer exists."))
    may_import(tenant, actor)
    filename, upload_id = upload.filename, upload.id
    if upload.content_enc is None:
        raise ImportRefused(_l("The uploaded file is no longer stored; upload it again."))
    content = crypto.decrypt_bytes(upload.content_enc, CONTENT_LABEL)
    kind = check_upload(filename, content)
    table = open_table(kind, content)
    importer = HouseholdImport(tenant, actor, job_id=run.id, upload_id=upload_id, filename=filename)
    ignored = importer.use_headers(table.headers)
    run.report(0.0, total=table.total, **importer.result(table.total), ignored_columns=ignored)
    done, batch, batch_number = 0, [], 0
    batch_rows: list[int] = []

    def flush():
        nonlocal batch, batch_rows, batch_number
        ids = importer.land(batch)
        if ids:
            audit.record("household.import", tenant, object_type="ImportUpload", object_id=upload_id, user=actor,
                         detail={"job": run.id, "file": filename, "rows": [batch_rows[0], batch_rows[-1]],
                                 "households": ids})
        batch_number += 1
        run.report(done / table.total if table.total else 1.0, **importer.result(table.total))
        _checkpoint(batch_number)
        batch, batch_rows = [], []

    for row, cells in table.rows():
        prepared = importer.check_row(row, cells)
        if prepared is not None:
            batch.append(prepared)
        batch_rows.append(row)
        done += 1
        if len(batch_rows) >= BATCH_SIZE:
            flush()
    if batch_rows:
        flush()
    del content
    run.output = verdicts_xlsx(importer.verdicts, importer.result(table.total), table.total)
    stem = os.path.splitext(filename)[0]
    run.output_name = f"{stem}-{_('import verdicts')}.xlsx"
    audit.record("household.import_finished", tenant, object_type="ImportUpload", object_id=upload_id, user=actor,
                 detail={"job": run.id, "file": filename, "rows": table.total, "imported": importer.imported,
                         "already_imported": importer.already_imported, "rejected_rows": len(importer.rejected_rows)})
    return {**importer.result(table.total), "ignored_columns": ignored}


# ---------------------------------------------------------------- workbooks

def _example_row() -> dict[str, str]:
    head = "11010519491231002"
    member = "11010519510305004"
    return {"户主姓名": "张三", "身份证号": head + check_char(head), "联系电话": "13812345678", "所在单位编码": "",
            "工作岗位": "钳工", "是否工会会员": "是", "是否劳模": "否", "劳模级别": "", "是否农民工": "否",
            "困难类别": "深度困难", "致困原因": "因病、低收入", "家庭人均月收入": "850.00", "低保情况": "无",
            "医疗保险": "职工医保", "家庭住址": "石家庄市长安区建设北大街1号", "开户银行": "中国工商银行",
            "银行卡号": "6222020200112233446", "银行卡号已核对": "", "诉求": "医疗救助", "第一责任人": "王五",
            "第二责任人": "", "成员1姓名": "李四", "成员1身份证号": member + check_char(member), "成员1与户主关系": "配偶",
            "成员1健康状况": "健康", "成员1就学就业情况": "无业", "成员1月收入": "0.00"}


def template_xlsx() -> bytes:
    """The import template: the headers (required ones in bold red), one example row, every column
    formatted as text (so that Excel keeps ID and card numbers), drop-down lists for the choices, and
    a second sheet explaining each column in the current language."""
    import xlsxwriter

    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    text = book.add_format({"num_format": "@"})
    bold = book.add_format({"bold": True, "num_format": "@", "bg_color": "#F2F2F2"})
    required = book.add_format({"bold": True, "num_format": "@", "font_color": "#B71C1C", "bg_color": "#F2F2F2"})
    sheet = book.add_worksheet("困难职工家庭")
    example = _example_row()
    for col, column in enumerate(COLUMNS):
        sheet.set_column(col, col, 22 if column.kind in ("id", "card", "text") else 14, text)
        sheet.write_string(0, col, column.header, required if column.required else bold)
        sheet.write_string(1, col, example.get(column.header, ""), text)
        if column.kind == "flag":
            sheet.data_validation(1, col, MAX_ROWS, col, {"validate": "list", "source": ["是", "否"],
                                                          "ignore_blank": True})
        elif column.kind == "choice":
            sheet.data_validation(1, col, MAX_ROWS, col, {"validate": "list", "ignore_blank": True,
                                                          "source": list(column.choices.values())})
    sheet.freeze_panes(1, 0)
    notes = book.add_worksheet(_("Instructions")[:31])
    wrap = book.add_format({"text_wrap": True, "valign": "top"})
    notes.set_column(0, 0, 20)
    notes.set_column(1, 1, 10)
    notes.set_column(2, 2, 90, wrap)
    notes.write_row(0, 0, [_("Column"), _("Required"), _("What to write")], bold)
    for row, column in enumerate(COLUMNS, start=1):
        notes.write_row(row, 0, [column.header, _("yes") if column.required else "", str(column.help)])
    after = len(COLUMNS) + 2
    for n, line in enumerate([
        _("One row per household, the head first; up to %(n)d members in the column groups 成员1 to 成员%(n)d.",
          n=MEMBER_GROUPS),
        _("The header row must stay as it is; columns may be reordered, unknown columns are ignored."),
        _("At most %(rows)s rows and %(mb)d MB per file; csv files in UTF-8 or GB18030 are accepted too.",
          rows=f"{MAX_ROWS:,}", mb=MAX_BYTES // (1024 * 1024)),
        _("Importing the same file again adds only what is missing: households already imported are left as "
          "they are."),
    ]):
        notes.write(after + n, 0, line)
    book.close()
    return buffer.getvalue()


def verdicts_xlsx(verdicts: list[dict], summary: dict, total: int) -> bytes:
    """The rejected rows (row, column, field, problem) and a summary, in the current language."""
    import xlsxwriter

    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    bold = book.add_format({"bold": True})
    sheet = book.add_worksheet(_("Rejected rows")[:31])
    sheet.write_row(0, 0, [_("Row"), _("Column"), _("Field"), _("Problem")], bold)
    for n, v in enumerate(sorted(verdicts, key=lambda v: (v["row"], v["field"])), start=1):
        sheet.write_row(n, 0, [v["row"], v["column"], v["field"], v["message"]])
    sheet.set_column(0, 0, 8)
    sheet.set_column(1, 2, 22)
    sheet.set_column(3, 3, 80)
    sheet.freeze_panes(1, 0)
    info = book.add_worksheet(_("Summary")[:31])
    info.set_column(0, 0, 24)
    info.set_column(1, 1, 40)
    for n, (label, value) in enumerate([
        (_("File"), summary.get("file", "")), (_("Rows"), total), (_("Imported"), summary["imported"]),
        (_("Already imported"), summary["already_imported"]), (_("Rejected rows"), summary["rejected_rows"]),
    ]):
        info.write(n, 0, label, bold)
        info.write(n, 1, value)
    book.close()
    return buffer.getvalue()

