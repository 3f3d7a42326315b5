"""File downloads: one xlsx attachment response for every export, template and job file."""

from __future__ import annotations

from urllib.parse import quote

from flask import Response

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def xlsx_download(content: bytes, filename: str) -> Response:
    """``content`` as an xlsx attachment named ``filename`` (Chinese names too: RFC 5987 ``filename*``)."""
    return Response(content, mimetype=XLSX, headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(filename)}"})
