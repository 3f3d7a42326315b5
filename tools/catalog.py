"""Fill the message catalogs after ``make extract``: ``en`` copies every untranslated msgid, ``zh_Hans_CN``
takes the translations given in a JSON file ({"English msgid": "中文"}), and lists what is still missing.

    .venv/bin/python tools/catalog.py [translations.json]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str]) -> int:
    given = json.loads(Path(argv[0]).read_text(encoding="utf-8")) if argv else {}
    missing = []
    for locale in ("en", "zh_Hans_CN"):
        path = ROOT / "translations" / locale / "LC_MESSAGES" / "messages.po"
        with path.open("rb") as fh:
            catalog = read_po(fh, locale=locale)
        for message in catalog:
            if not message.id or (message.string and not message.fuzzy):
                continue
            if locale == "en":
                message.string = message.id
            elif isinstance(message.id, str) and message.id in given:
                message.string = given[message.id]
            else:
                missing.append(message.id)
                continue
            message.flags.discard("fuzzy")
        with path.open("wb") as fh:
            write_po(fh, catalog, sort_output=True, omit_header=False)
    for msgid in missing:
        print("untranslated:", msgid)
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
