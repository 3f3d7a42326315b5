"""Benchmark of the household import (SPEC 10: 50,000 xlsx rows in under 60 s, peak memory under 400 MB).

    .venv/bin/python tools/bench_import.py [--rows 50000] [--database-url postgresql://...]

Writes an xlsx of ``--rows`` households (a third of them with a member), then, in a child process on a
new, empty database (a temporary SQLite file, or a temporary database on the PostgreSQL server of
``--database-url`` / ``DATABASE_URL``, dropped afterwards), creates a small tree and imports the file
inline as the importing county's job would. Prints one JSON object per figure (``name``, ``value``,
``unit``), as ``make bench`` collects them; the peak memory is the child's maximum resident size.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from bench_db import scratch_database  # noqa: E402 (tools/, the script's folder)


def _id_number(n: int) -> str:
    from hardship.core.idcard import check_char

    born = date(1960, 1, 1) + timedelta(days=n % 15000)
    base = f"130102{born:%Y%m%d}{n // 15000 % 1000:03d}"
    return base + check_char(base)


def _card(n: int) -> str:
    from hardship.core.idcard import luhn_ok

    base = f"622202{n:012d}"
    return next(base + d for d in "0123456789" if luhn_ok(base + d))


def write_xlsx(path: str, rows: int) -> None:
    from hardship.archives.importing.columns import COLUMNS
    from hardship.core.xlsx import Workbook

    headers = [c.header for c in COLUMNS]
    book = Workbook(path, constant_memory=True)
    sheet = book.sheet("困难职工", headers, freeze=False)
    categories, reasons = ["深度困难", "相对困难", "意外致困"], ["因病、低收入", "因残", "下岗失业，单亲", "因学"]
    for i in range(rows):
        values = {"户主姓名": f"职工{i}", "身份证号": _id_number(2 * i), "联系电话": f"139{i:08d}",
                  "所在单位编码": "BENCH-E1" if i % 2 else "", "工作岗位": "操作工", "是否工会会员": "是",
                  "困难类别": categories[i % 3], "致困原因": reasons[i % 4], "家庭人均月收入": f"{600 + i % 900}.50",
                  "低保情况": "无", "医疗保险": "职工医保", "家庭住址": f"石家庄市长安区某某路{i}号",
                  "开户银行": "中国工商银行", "银行卡号": _card(i), "诉求": "生活救助", "第一责任人": "王五"}
        if i % 3 == 0:
            values.update({"成员1姓名": f"家属{i}", "成员1身份证号": _id_number(2 * i + 1), "成员1与户主关系": "配偶",
                           "成员1月收入": "0"})
        sheet.append([values.get(h, "") for h in headers])
    book.close()


def child(path: str, database_url: str) -> None:
    """Import ``path`` on an empty database; print the figures."""
    import resource

    instance = tempfile.mkdtemp(prefix="hardship-bench-")
    os.environ["HARDSHIP_INSTANCE"] = instance
    from hardship.app import create_app
    from hardship.archives.importing.job import start_household_import
    from hardship.cli import upgrade_database
    from hardship.core.db import db
    from hardship.jobs.models import Job
    from tenants.operations import create_tenant
    from tenants.scoping import system_scope

    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "DATABASE_OWNER_URL": database_url, "REDIS_URL": None})
    with app.app_context():
        upgrade_database()
        with system_scope():
            province = create_tenant(None, "BENCH-P", "基准测试省总工会", "province")
            city = create_tenant(province, "BENCH-C", "基准测试市总工会", "city")
            county = create_tenant(city, "BENCH-K", "基准测试县总工会", "county")
            create_tenant(county, "BENCH-E1", "基准测试企业工会", "enterprise")
            db.session.commit()
            content = Path(path).read_bytes()
            usage = resource.getrusage(resource.RUSAGE_SELF)
            before, cpu_before = usage.ru_maxrss, usage.ru_utime + usage.ru_stime
            started = time.perf_counter()
            run = start_household_import(county, "bench.xlsx", content, inline=True)
            job_id = run.id
            db.session.commit()  # the tool owns the transaction: the job runs inline as it commits
            elapsed = time.perf_counter() - started
            usage = resource.getrusage(resource.RUSAGE_SELF)
            cpu = usage.ru_utime + usage.ru_stime - cpu_before
            job = db.session.get(Job, job_id)
            result = dict(job.result or {})
            status = job.status
        db.session.remove()
        db.engine.dispose()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"status": status, "imported": result.get("imported"), "rejected_rows": result.get("rejected_rows"),
                      "seconds": round(elapsed, 2), "cpu_seconds": round(cpu, 2), "peak_mb": round(peak_mb, 1),
                      "peak_mb_before_import": round(before / 1024, 1), "refused": result.get("refused")}))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    parser.add_argument("--child", nargs=2, metavar=("FILE", "URL"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return 0

    work = tempfile.mkdtemp(prefix="hardship-bench-")
    path = os.path.join(work, "bench.xlsx")
    started = time.perf_counter()
    write_xlsx(path, args.rows)
    print(f"# wrote {args.rows} rows ({os.path.getsize(path) / 1e6:.1f} MB) in {time.perf_counter() - started:.1f}s",
          file=sys.stderr)
    with scratch_database(args.database_url, work) as (url, backend):
        proc = subprocess.run([sys.executable, __file__, "--child", path, url], cwd=REPO, capture_output=True, text=True)
    if proc.returncode != 0:
        print(proc.stdout + proc.stderr, file=sys.stderr)
        return 1
    figures = json.loads(proc.stdout.strip().splitlines()[-1])
    if figures["status"] != "finished" or figures["imported"] != args.rows:
        print(f"# the import did not land every row: {figures}", file=sys.stderr)
        return 1
    print(json.dumps({"name": f"import_{args.rows}_xlsx_rows_{backend}", "value": figures["seconds"], "unit": "s",
                      "target": 60, "cpu_seconds": figures["cpu_seconds"]}))
    print(json.dumps({"name": f"import_peak_memory_{backend}", "value": figures["peak_mb"], "unit": "MB",
                      "target": 400}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
