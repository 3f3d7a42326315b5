"""Demo service-desk cases for ``hardship demo``: every county's window and some enterprises register cases of
every kind and channel over the last months; some are referred down to an enterprise and answered, most are
closed with a result, a few stay open past their deadline (overdue), one is closed and reopened. A person of
the demo archive comes to the window too (the case links to the household).

Everything goes through the desk's schemas and operations (the command line's actor); a database that already
holds cases is left alone.
"""

from __future__ import annotations

from datetime import date, timedelta
from itertools import cycle

from sqlalchemy import select

from hardship.api import load_data
from hardship.archives.models import Person
from hardship.core import crypto
from hardship.core.db import db
from hardship.desk import operations as ops
from hardship.desk.models import CATEGORIES, CHANNELS, KINDS, Case
from hardship.desk.schemas import CaseIn, CaseRecordIn
from tenants.models import Tenant
from tenants.scoping import path_range

NAMES = ["王建国", "李秀英", "张伟", "刘洋", "陈静", "杨军", "赵敏", "黄磊", "周婷", "吴强", "徐丽", "孙浩"]
SUBJECTS = {
    "petition": ["企业拖欠工资三个月，要求协调补发", "单位未按规定缴纳社会保险", "反映家庭生活困难，申请帮扶"],
    "legal_aid": ["劳动合同解除未支付经济补偿，申请法律援助", "工伤认定后单位拒绝支付待遇"],
    "job_referral": ["下岗失业，希望介绍工作", "企业停产，求职登记"],
    "training": ["报名参加电工技能培训", "报名参加育婴员培训"],
}
RECORDS = {
    "legal_aid": {"legal_lawyer": "河北正平律师事务所", "legal_dispute_type": "追索劳动报酬", "legal_claimed": "18600.00",
                  "legal_won": "15000.00", "legal_outcome": "arbitration"},
    "job_referral": {"job_employer": "石家庄某物流有限公司", "job_title": "仓储管理员", "job_placed": True},
    "training": {"training_course": "低压电工作业", "training_hours": 48, "training_completed": True,
                 "training_certificate": "特种作业操作证"},
}


def load_cases(counties: list[str], today: date | None = None) -> int:
    """Register the demo cases (once); returns how many."""
    today = today or date.today()
    if db.session.scalar(select(Case.id).limit(1)):
        return 0
    tenants = {t.code: t for t in db.session.scalars(select(Tenant))}
    kinds, channels, categories = cycle(KINDS), cycle(CHANNELS), cycle(CATEGORIES)
    names = cycle(NAMES)
    made = 0
    for n, code in enumerate(counties):
        county = tenants[code]
        enterprises = sorted((t for t in tenants.values() if t.parent_id == county.id), key=lambda t: t.code)
        person = db.session.scalar(select(Person).join(Tenant, Tenant.id == Person.tenant_id)
                                   .where(path_range(Tenant.path, county.path), Person.active.is_(True)).limit(1))
        for i in range(8):
            kind = next(kinds)
            received = today - timedelta(days=3 + (i * 11 + n * 5) % 80)
            body = {"tenant": code, "kind": kind, "channel": next(channels), "category": next(categories),
                    "person": {"name": next(names), "phone": f"13{(n * 8 + i) % 10}1234{5670 + i:04d}",
                               "enterprise": enterprises[i % len(enterprises)].name[:-2] if enterprises else ""},
                    "subject": SUBJECTS[kind][i % len(SUBJECTS[kind])], "received_on": received.isoformat()}
            if i == 0 and person is not None:  # a person of the archive
                body["person"] = {"name": person.name, "phone": "",
                                  "id_number": crypto.decrypt(person.id_enc, "persons.id", person.row_key)}
            case = ops.register_case(county, load_data(CaseIn, body), today=today)
            if kind in RECORDS and i % 3 != 2:
                record = load_data(CaseRecordIn, RECORDS[kind])
                ops.update_record(case, record, list(RECORDS[kind]))
            state = (i + n) % 6
            if state in (1, 2, 3) and enterprises:  # referred down; answered; answered and closed
                ops.refer(case, enterprises[i % len(enterprises)], "请核实情况并于期限内回复")
                if state >= 2:
                    ops.answer(case, "已与企业沟通，企业承诺近期解决")
                if state == 3:
                    ops.close(case, "resolved", "已解决，当事人满意", "satisfied", today=today)
            elif state == 4:
                ops.reply(case, "已电话告知当事人办理进展")
                ops.close(case, "partly_resolved", "部分诉求已解决", "basically_satisfied", today=today)
            elif state == 5 and i % 2:
                ops.close(case, "referred_outside", "已转劳动监察部门", today=today)
                ops.reopen(case, "当事人反映问题仍未解决")
            # state 0 (and some 1): open at the county; those received long ago are past their deadline
            made += 1
    for code in counties[:2]:  # an enterprise's own window
        enterprise = next(t for t in sorted(tenants.values(), key=lambda t: t.code)
                          if t.parent_id == tenants[code].id)
        ops.register_case(enterprise, load_data(CaseIn, {
            "tenant": enterprise.code, "kind": "petition", "channel": "visit", "category": "living_hardship",
            "person": {"name": next(names)}, "subject": "家中老人患病，申请困难帮扶",
            "received_on": (today - timedelta(days=2)).isoformat()}), today=today)
        made += 1
    db.session.flush()
    return made
