"""The import's workbooks: the template to fill in, and the verdicts of a run."""

from __future__ import annotations

from flask_babel import gettext as _

from hardship.archives.importing.columns import COLUMNS, MEMBER_GROUPS
from hardship.archives.importing.files import MAX_BYTES, MAX_ROWS
from hardship.core.idcard import check_char
from hardship.core.xlsx import Column, Workbook

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
    book = Workbook()
    sheet = book.sheet("困难职工家庭", [Column(
        column.header, "code", 22 if column.kind in ("id", "card", "text") else 14, required=column.required,
        choices=["是", "否"] if column.kind == "flag" else list(column.choices.values()) if column.kind == "choice"
        else ()) for column in COLUMNS], input_rows=MAX_ROWS)
    example = _example_row()
    sheet.append([example.get(column.header, "") for column in COLUMNS])
    notes = book.sheet(_("Instructions"), [Column(_("Column"), "text", 20), Column(_("Required"), "text", 10),
                                           Column(_("What to write"), "text", 90, wrap=True)], freeze=False)
    for column in COLUMNS:
        notes.append([column.header, _("yes") if column.required else "", str(column.help)])
    notes.append([])
    for line in [
        _("One row per household, the head first; up to %(n)d members in the column groups 成员1 to 成员%(n)d.",
          n=MEMBER_GROUPS),
        _("The header row must stay as it is; columns may be reordered, unknown columns are ignored."),
        _("At most %(rows)s rows and %(mb)d MB per file; csv files in UTF-8 or GB18030 are accepted too.",
          rows=f"{MAX_ROWS:,}", mb=MAX_BYTES // (1024 * 1024)),
        _("Importing the same file again adds only what is missing: households already imported are left as "
          "they are."),
    ]:
        notes.append([line], kinds=["text"])
    return book.close()


def verdicts_xlsx(verdicts: list[dict], summary: dict, total: int, counts: list | None = None) -> bytes:
    """The rejected rows (row, column, field, problem) and a summary, in the current language; ``counts``:
    the summary's ``(label, number)`` lines after the file and its rows (default: the household import's)."""
    book = Workbook()
    sheet = book.sheet(_("Rejected rows"), [Column(_("Row"), "integer", 8), Column(_("Column"), "text", 22),
                                            Column(_("Field"), "code", 22), Column(_("Problem"), "text", 80)])
    for v in sorted(verdicts, key=lambda v: (v["row"], v["field"])):
        sheet.append([v["row"], v["column"], v["field"], v["message"]])
    info = book.sheet(_("Summary"), [Column("", "text", 24), Column("", "text", 40)], header=False)
    info.append([_("File"), summary.get("file", "")])
    if counts is None:
        counts = [(_("Imported"), summary["imported"]), (_("Already imported"), summary["already_imported"]),
                  (_("Rejected rows"), summary["rejected_rows"])]
    for label, value in [(_("Rows"), total), *counts]:
        info.append([label, value], kinds=["text", "count"])
    return book.close()
