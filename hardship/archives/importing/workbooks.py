"""The import's workbooks: the template to fill in, and the verdicts of a run."""

from __future__ import annotations

import io

from flask_babel import gettext as _

from hardship.archives.importing.columns import COLUMNS, MEMBER_GROUPS
from hardship.archives.importing.files import MAX_BYTES, MAX_ROWS
from hardship.core.idcard import check_char

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


