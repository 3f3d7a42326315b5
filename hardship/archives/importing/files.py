"""Refusing a file as a whole, and reading its rows (xlsx with python-calamine; csv in UTF-8 or GB18030)."""

from __future__ import annotations

import csv
import io
import os
import re
import zipfile
from array import array
from collections.abc import Iterator
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from hardship.archives.importing.columns import COLUMN_BY_HEADER, REQUIRED_HEADERS
from hardship.core.errors import ValidationFailed

#: the largest file accepted (SPEC 3.7 / issue 3: 20 MB)
MAX_BYTES = 20 * 1024 * 1024
#: the most households in one file
MAX_ROWS = 100_000
#: the most an xlsx may unpack to (its XML parts, all together): a guard against zip bombs
MAX_UNPACKED = 300 * 1024 * 1024
MAX_ZIP_ENTRIES = 2000
#: what the workbook reader may be given (it holds the whole sheet in memory, each cell in place: the
#: worker must stay under 400 MB): the shared strings' XML, their number, the sheet's area (rows x columns,
#: empty cells included), its columns and rows, the text its cells hold and how many hold something.
MAX_SHARED_STRINGS = 48 * 1024 * 1024
MAX_STRINGS = 4_200_000
MAX_CELLS = 4_200_000
MAX_COLUMNS = 100
MAX_SHEET_ROWS = MAX_ROWS + 1000
MAX_TEXT = 64 * 1024 * 1024
#: what the reader holds at its peak, estimated from the sheet's area and its cells with a value (measured
#: with python-calamine 0.9: about 26 bytes a cell of the area and 80 more a filled cell; the template's
#: MAX_ROWS households with one member each, 230 MB). With the worker's own 110 MB it stays under 400 MB.
MAX_READER_BYTES = 250 * 1024 * 1024
AREA_CELL_BYTES, FILLED_CELL_BYTES = 26, 80
#: Excel's own limit of one cell (32,767 characters), as XML: at most 8 bytes a character
MAX_CELL_XML = 32_767 * 8
SHARED_STRINGS = "xl/sharedStrings.xml"
#: how far down the header row is looked for (a title may sit above it)
HEADER_SEARCH_ROWS = 10
EXTENSIONS = (".xlsx", ".csv")


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
    sample = content[:65536]
    if sample.count(b"\x00") * 100 > len(sample):  # binary (or UTF-16); a stray NUL is the verdict of its row
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
    checksum, in a stream, before the workbook reader sees it; the shared strings and the worksheets are
    measured on the way: :class:`_Parts`)."""
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            infos = archive.infolist()
            names = {i.filename for i in infos}
            if "xl/workbook.xml" not in names:
                raise ImportRefused(_l("The file is a zip archive but not an Excel workbook."))
            if len(infos) > MAX_ZIP_ENTRIES or sum(i.file_size for i in infos) > MAX_UNPACKED:
                raise _too_big_unpacked()
            if any(i.filename == SHARED_STRINGS and i.file_size > MAX_SHARED_STRINGS for i in infos):
                raise _too_much_text()
            if not unpack:
                return
            parts = _Parts()
            # the shared strings first (the cells refer to them), then every other part
            for info in sorted(infos, key=lambda i: i.filename != SHARED_STRINGS):
                with archive.open(info) as part:
                    while chunk := part.read(1 << 20):
                        parts.unpacked += len(chunk)
                        if parts.unpacked > MAX_UNPACKED:
                            raise _too_big_unpacked()
                        parts.feed(info.filename, chunk)
                parts.end(info.filename)
    except ImportRefused:
        raise
    except Exception:  # BadZipFile, zlib.error, an unsupported compression method: whatever a broken archive raises
        raise _damaged() from None


def _too_much_text():
    return ImportRefused(_l("The workbook holds more text than can be imported at once; split it into smaller "
                            "files."))


def _cell_too_long():
    return ImportRefused(_l("A cell of the workbook holds more than 32,767 characters, more than Excel allows; "
                            "correct it in Excel and save the file again."))


_SI = re.compile(rb"<si\b[^>]*?(?:/>|>(.*?)</si>)", re.S)
_CELL_OR_ROW = re.compile(rb"<(c|row)\b([^>]*?)(/?)>(?:<v>(\d{1,10})</v>)?")
_REF = re.compile(rb'\br="([A-Z]{0,3})(\d{0,7})"')
_TYPE = re.compile(rb'\bt="(\w+)"')


class _Parts:
    """Measures an xlsx's shared strings and worksheets as they are unpacked, chunk by chunk, and refuses
    (:class:`ImportRefused`) what would take the reader beyond the limits above before anything is loaded."""

    def __init__(self):
        self.unpacked = 0
        self.lengths = array("I")  # the XML length of each shared string
        self.strings_bytes = 0
        self._carry: dict[str, bytes] = {}
        self._sheet: dict = {}

    def feed(self, name: str, chunk: bytes) -> None:
        if name == SHARED_STRINGS:
            self.strings_bytes += len(chunk)
            if self.strings_bytes > MAX_SHARED_STRINGS:
                raise _too_much_text()
            self._scan(name, chunk, b"<si", self._strings)
        elif name.startswith("xl/worksheets/") and name.endswith(".xml"):
            self._scan(name, chunk, b"<c", self._cells)

    def end(self, name: str) -> None:
        rest = self._carry.pop(name, b"")
        if name == SHARED_STRINGS:
            self._strings(rest)
        elif name in self._sheet:
            self._cells(rest, name=name)
            self._sheet.pop(name)

    def _scan(self, name: str, chunk: bytes, mark: bytes, measure) -> None:
        """Measure the complete elements of ``chunk`` (after what the previous one left): up to the last
        ``mark``, the rest waiting for the next chunk. What waits is one element: longer than a cell may be
        is refused."""
        data = self._carry.pop(name, b"") + chunk
        cut = max(data.rfind(mark), 0)
        if len(data) - cut > MAX_CELL_XML:
            if data.startswith(mark, cut) and data[cut + len(mark): cut + len(mark) + 1] in (b" ", b">", b"/"):
                raise _cell_too_long()
            cut = len(data)  # another element (a long list of formats or validations): measured whole
        if cut:
            measure(data[:cut], name=name)
        self._carry[name] = data[cut:]

    def _strings(self, data: bytes, name: str = SHARED_STRINGS) -> None:
        for match in _SI.finditer(data):
            length = len(match.group(1) or b"")
            if length > MAX_CELL_XML:
                raise _cell_too_long()
            self.lengths.append(length)
        if len(self.lengths) > MAX_STRINGS:
            raise _too_much_text()

    def _cells(self, data: bytes, name: str) -> None:
        sheet = self._sheet.setdefault(name, {"row": 0, "col": 0, "rows": 0, "cols": 0, "text": 0, "open": None,
                                                    "filled": 0})
        lengths, count = self.lengths, len(self.lengths)
        for match in _CELL_OR_ROW.finditer(data):
            if sheet["open"] is not None:  # an inline string's cell: its text is the XML up to the next element
                sheet["text"] += match.start() - sheet["open"]
                sheet["open"] = None
            kind, attributes, empty, value = match.groups()
            ref = _REF.search(attributes)
            if kind == b"row":
                sheet["row"] = int(ref.group(2)) if ref and ref.group(2) else sheet["row"] + 1
                sheet["col"] = 0
            else:
                letters = ref.group(1) if ref else b""
                if letters:
                    col = 0
                    for letter in letters:
                        col = col * 26 + letter - 64
                    sheet["col"] = col
                else:
                    sheet["col"] += 1
                if ref and ref.group(2):
                    sheet["row"] = int(ref.group(2))
                sheet["filled"] += not empty
                kind_of = _TYPE.search(attributes)
                kind_of = kind_of.group(1) if kind_of else b"n"
                if kind_of == b"s" and value is not None:
                    index = int(value)
                    sheet["text"] += lengths[index] if index < count else 0
                elif kind_of in (b"inlineStr", b"str"):
                    sheet["open"] = match.start()
                sheet["cols"] = max(sheet["cols"], sheet["col"])
            sheet["rows"] = max(sheet["rows"], sheet["row"])
        if sheet["open"] is not None:
            sheet["text"] += len(data) - sheet["open"]
            sheet["open"] = 0
        if sheet["cols"] > MAX_COLUMNS or sheet["rows"] > MAX_SHEET_ROWS or sheet["rows"] * sheet["cols"] > MAX_CELLS:
            raise ImportRefused(_l("The worksheet spans %(rows)s rows and %(columns)s columns; at most %(max_rows)s "
                                   "rows and %(max_columns)s columns can be imported. Delete the empty rows and "
                                   "columns beyond the data, or split the file.",
                                   rows=f"{sheet['rows']:,}", columns=f"{sheet['cols']:,}",
                                   max_rows=f"{min(MAX_SHEET_ROWS, MAX_CELLS // max(sheet['cols'], 1)):,}",
                                   max_columns=MAX_COLUMNS))
        if sheet["text"] > MAX_TEXT:
            raise _too_much_text()
        area = sheet["rows"] * sheet["cols"]
        if area * AREA_CELL_BYTES + sheet["filled"] * FILLED_CELL_BYTES > MAX_READER_BYTES:
            raise ImportRefused(_l("The worksheet has too many filled cells to be read at once; split it into smaller "
                                   "files."))


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


@dataclass(frozen=True)
class Layout:
    """What a file of one kind of import looks like: the headers that mark its header row, the headers it
    knows and those it requires, and the words of its refusals (the household import's by default)."""

    markers: tuple
    known: frozenset
    required: tuple
    no_header: object
    too_many: object  # a message with %(max)s
    no_rows: object


HOUSEHOLDS = Layout(
    markers=("户主姓名", "身份证号"), known=frozenset(COLUMN_BY_HEADER), required=tuple(REQUIRED_HEADERS),
    no_header=_l("No header row: the first row must hold the column headers of the template (户主姓名, 身份证号, ...)."),
    too_many=_l("The file has more than %(max)s households; import at most %(max)s rows at a time."),
    no_rows=_l("The file has no households below its header row."))


def open_table(kind: str, content: bytes, layout: Layout = HOUSEHOLDS, max_rows: int | None = None) -> Table:
    """Read the file's rows (xlsx: python-calamine; csv: UTF-8 or GB18030) and find the header row (the first
    of ``HEADER_SEARCH_ROWS`` holding every one of ``layout.markers``). Raises :class:`ImportRefused` for
    anything that cannot be imported as a whole. ``max_rows``: the most rows of the file (default ``MAX_ROWS``)."""
    if max_rows is None:
        max_rows = MAX_ROWS
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
            if all(marker in keys for marker in layout.markers):
                header_index, headers = index, keys
                break
    except csv.Error:
        raise ImportRefused(_l("The csv file cannot be read; save it from Excel as CSV again.")) from None
    if headers is None:
        raise ImportRefused(layout.no_header)
    seen: set[str] = set()
    for header in headers:
        if header in layout.known and header in seen:
            raise ImportRefused(_l("The column %(column)s appears twice.", column=header))
        seen.add(header)
    missing = [h for h in layout.required if h not in seen]
    if missing:
        raise ImportRefused(_l("Required columns are missing: %(columns)s. Start from the template.",
                               columns="、".join(missing)))
    total = 0
    try:
        for index, cells in enumerate(source()):
            if index > header_index and not _blank(cells):
                total += 1
                if total > max_rows:
                    raise ImportRefused(layout.too_many % {"max": f"{max_rows:,}"})
    except csv.Error:
        raise ImportRefused(_l("The csv file cannot be read; save it from Excel as CSV again.")) from None
    if total == 0:
        raise ImportRefused(layout.no_rows)
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

