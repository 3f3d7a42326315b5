"""Bulk import of households from an xlsx workbook or a csv file (SPEC 3.7).

The file
--------
The first worksheet of an ``.xlsx`` workbook, or a ``.csv`` file in UTF-8 (with or without BOM)
or GB18030 (what Chinese Excel writes; tried when the file is not UTF-8). The header row is the
first row, or one of the first ten when a title sits above it; it names the columns in Chinese
as in the template (``workbooks.template_xlsx``, ``GET /api/v1/imports/households/template.xlsx``).
Columns may come in any order; unknown columns are ignored and listed in the result. One row is
one household (``columns.COLUMNS``):

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

Accepted rows land in batches of ``job.BATCH_SIZE`` rows of the file. Each batch is one
transaction of bulk inserts in which the unique indexes decide, so nothing can slip in between a
check and the insert: ``ON CONFLICT (import_key) DO NOTHING`` skips the households already
imported, and the partial unique index on the people's blind index refuses anyone already in an
open household (only then are the batch's people looked up, in bulk, for the holding union's name,
and the batch is inserted again without those rows). Each batch ends at a checkpoint of the job
runner (``run.report``), which commits it with the job's progress, so whatever the job has reported
as imported is in the database.
The verdicts are ``{"row", "field", "column", "message"}``: ``row`` is the spreadsheet's row number
(the header is row 1 in the template, so row 2 is the first household), ``field`` the field's path
as in the API (``head.id_number``, ``members.0.relation``, ``tenant``), ``column`` the file's column.

Files over ``files.MAX_BYTES`` or ``files.MAX_ROWS`` rows, files that are not what their name says,
damaged workbooks and archives that unpack to more than ``files.MAX_UNPACKED`` bytes are refused as a
whole (``files.ImportRefused``), before anything is written. So are workbooks that would take the worker
beyond its memory (400 MB) once read: their shared strings and worksheets are measured while they are
unpacked, before the reader loads them (``files.MAX_SHARED_STRINGS``, ``MAX_CELLS``, ``MAX_COLUMNS``,
``MAX_TEXT``; a cell longer than Excel allows). Anything else in a cell, whatever its bytes (a NUL, a control
character, ``_x0000_``), is the verdict of its row.

The modules
-----------
``columns`` (the file's columns and words), ``files`` (refusing a file, reading its rows), ``rows`` (one
row's checks), ``landing`` (the batches' inserts), ``job`` (starting and running an import), ``workbooks``
(the template and the verdicts), ``models`` (the stored upload), ``api`` and ``views`` (the HTTP entry
points: upload, template).
"""
