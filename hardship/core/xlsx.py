"""Every workbook the product writes goes through this module (the only one that imports xlsxwriter).

A sheet is declared by its columns, each of one kind, and every value is written by its kind: text is always
written as text (``write_string``: a note, a 文号 or a union's name such as ``=HYPERLINK(...)`` never becomes a
formula, a link or a number), money as a number of yuan shown with thousands separators and 元, dates as dates.

    book = Workbook()
    sheet = book.sheet("资金明细", [Column("日期", "date"), Column("文号", "code"), Column("金额", "money")])
    sheet.append([date(2026, 3, 1), "财社〔2026〕12号", 123456])   # money in fen
    content = book.close()
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import xlsxwriter

#: the number format of each kind of column (``text`` has none: it is a string whatever it looks like)
FORMATS = {
    "text": None,
    "code": "@",  # identifiers: ID, card and document numbers, union codes; text that Excel keeps as typed
    "money": '#,##0.00"元"',
    "wan": "#,##0.0000",  # money in 万元 with four decimals (the report forms' unit, named in the header)
    "yuan": "#,##0.00",  # money in 元 with two decimals, the unit named in the header
    "count": "#,##0",
    "integer": "0",  # a number that is a name, not a quantity: archive no., year, row number
    "percent": "0.00%",
    "date": "yyyy-mm-dd",
    "datetime": "yyyy-mm-dd hh:mm",
}
#: the longest text a cell holds
MAX_TEXT = 32767
#: the time zone a timestamp is shown in (the one the pages use)
DEFAULT_TIMEZONE = "Asia/Shanghai"


@dataclass(frozen=True)
class Column:
    """A column: its header, the kind of its values (a key of :data:`FORMATS`), its width; for an input
    template, whether it is required (its header in red) and the choices of its drop-down list."""

    header: str
    kind: str = "text"
    width: float | None = None
    required: bool = False
    choices: Sequence[str] = ()
    wrap: bool = False

    def __post_init__(self):
        if self.kind not in FORMATS:
            raise ValueError(f"unknown column kind {self.kind!r}")


class Workbook:
    """An xlsx workbook in memory (or, with ``constant_memory``, streamed row by row to ``path``)."""

    def __init__(self, path: str | None = None, *, constant_memory: bool = False, timezone: str | None = None):
        self._buffer = io.BytesIO()
        self._book = xlsxwriter.Workbook(path or self._buffer, {
            "in_memory": not constant_memory, "constant_memory": constant_memory,
            # write() is never called, and would not turn a string into a formula, number or link anyway
            "strings_to_formulas": False, "strings_to_numbers": False, "strings_to_urls": False,
        })
        self.zone = ZoneInfo(timezone or _configured_timezone())
        self._formats: dict[tuple, object] = {}

    def format(self, kind: str = "text", **extra):
        key = (kind, tuple(sorted(extra.items())))
        if key not in self._formats:
            props = dict(extra)
            if FORMATS[kind]:
                props["num_format"] = FORMATS[kind]
            self._formats[key] = self._book.add_format(props) if props else None
        return self._formats[key]

    def sheet(self, name: str, columns: Sequence[Column | str], *, header: bool = True, freeze: bool = True,
              input_rows: int = 0) -> Sheet:
        """A new sheet with ``columns`` (a plain string is a text column); the header row in bold unless
        ``header`` is false; ``input_rows``: rows below the header an input template formats and offers its
        drop-down lists in."""
        return Sheet(self, self._book.add_worksheet(name[:31]), [c if isinstance(c, Column) else Column(c)
                                                                 for c in columns],
                     header=header, freeze=freeze, input_rows=input_rows)

    def close(self) -> bytes:
        """Finish the workbook; its bytes (empty when it was written to a path)."""
        self._book.close()
        return self._buffer.getvalue()


def _configured_timezone() -> str:
    from flask import current_app, has_app_context

    return current_app.config.get("BABEL_DEFAULT_TIMEZONE", DEFAULT_TIMEZONE) if has_app_context() \
        else DEFAULT_TIMEZONE


class Sheet:
    """A sheet whose rows are written by their columns' kinds (:meth:`append`, :meth:`write`)."""

    def __init__(self, book: Workbook, sheet, columns: list[Column], *, header: bool, freeze: bool,
                 input_rows: int):
        self.book, self._sheet, self.columns = book, sheet, columns
        self.row = 0
        for col, column in enumerate(columns):
            fmt = book.format(column.kind, **({"text_wrap": True, "valign": "top"} if column.wrap else {}))
            if column.width is not None or fmt is not None:
                sheet.set_column(col, col, column.width or 14, fmt)
            if column.choices and input_rows:
                sheet.data_validation(1, col, input_rows, col, {"validate": "list", "ignore_blank": True,
                                                                "source": list(column.choices)})
        if header:
            self.append([c.header for c in columns], kinds=["text"] * len(columns), heading=True)
            if freeze:
                sheet.freeze_panes(1, 0)

    def print_a4_landscape(self, *, repeat_rows: tuple[int, int] | None = None) -> None:
        """Print on A4 landscape, one page wide (``repeat_rows``: header rows printed on every page)."""
        self._sheet.set_landscape()
        self._sheet.set_paper(9)
        self._sheet.fit_to_pages(1, 0)
        if repeat_rows:
            self._sheet.repeat_rows(*repeat_rows)

    def merge_text(self, row: int, first_col: int, last_col: int, value: str, **extra) -> None:
        """A text cell spanning ``first_col``..``last_col`` of ``row`` (a title or a header line)."""
        fmt = self.book.format("text", **extra)
        if last_col > first_col:
            self._sheet.merge_range(row, first_col, row, last_col, str(value)[:MAX_TEXT], fmt)
        else:
            self._sheet.write_string(row, first_col, str(value)[:MAX_TEXT], fmt)

    def append(self, values: Iterable, *, kinds: Sequence[str] | None = None, heading: bool = False) -> None:
        """Write ``values`` as the next row, each by its column's kind (or by ``kinds``); ``None`` and ``""``
        leave a cell empty. ``heading``: a header row (bold; red where the column is required)."""
        for col, value in enumerate(values):
            kind = kinds[col] if kinds else self.columns[col].kind if col < len(self.columns) else "text"
            extra = {}
            if heading:
                extra = {"bold": True, "bg_color": "#F2F2F2", "border": 1}
                if col < len(self.columns) and self.columns[col].required:
                    extra["font_color"] = "#B71C1C"
            elif col < len(self.columns) and self.columns[col].wrap:
                extra = {"text_wrap": True, "valign": "top"}
            self.write(self.row, col, value, kind, **extra)
        self.row += 1

    def write(self, row: int, col: int, value, kind: str = "text", **extra) -> None:
        """One cell: ``value`` written as ``kind`` (money in fen, percent as a percentage such as 45.5, dates
        as dates, datetimes or ISO text); any other value of a text kind as its text."""
        fmt = self.book.format(kind, **extra)
        sheet = self._sheet
        if value is None or value == "":
            if fmt is not None:
                sheet.write_blank(row, col, None, fmt)
            return
        if kind in ("text", "code"):
            sheet.write_string(row, col, str(value)[:MAX_TEXT], fmt)
        elif kind in ("money", "yuan"):
            sheet.write_number(row, col, _whole(value) / 100, fmt)
        elif kind == "wan":
            sheet.write_number(row, col, _whole(value) / 1_000_000, fmt)
        elif kind in ("count", "integer"):
            sheet.write_number(row, col, _whole(value), fmt)
        elif kind == "percent":
            sheet.write_number(row, col, float(value) / 100, fmt)
        elif kind == "date":
            day = date.fromisoformat(value[:10]) if isinstance(value, str) else value
            sheet.write_datetime(row, col, day.date() if isinstance(day, datetime) else day, fmt)
        else:  # datetime
            moment = datetime.fromisoformat(value) if isinstance(value, str) else value
            if moment.tzinfo is not None:
                moment = moment.astimezone(UTC).astimezone(self.book.zone).replace(tzinfo=None)
            sheet.write_datetime(row, col, moment, fmt)


def _whole(value) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"a whole number is expected, not {value!r}")
    return value
