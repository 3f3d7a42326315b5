"""Demo ledger for ``hardship demo``: a realistic year of special funds in the demo province, and what is
left of the years before.

This year: the ACFTU's money reaches the province and is allocated to the cities; central and provincial
finance pay into the cities, which allocate to their counties with document numbers (some earmarked); the
city and a county receive local matching funds; a county returns what a campaign did not need. Earlier
years were mostly paid out as aid, except a lot of three years ago that a county never touched (it shows as
overdue) and a lot of two years ago that is barely a third spent (a warning).

Everything goes through the ledger operations (system actor, dates no later than today); every posting
carries an idempotency key ``demo:<n>``, and a ledger that already holds them is left alone.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from hardship.api import load_data
from hardship.core.db import db
from hardship.funds import operations as ops
from hardship.funds.models import FundTransaction
from hardship.funds.schemas import AllocationIn, DisbursementIn, ReceiptIn, ReturnIn
from tenants.models import Tenant


def load_funds(today: date | None = None) -> int:
    """Post the demo ledger (once); returns the number of postings made."""
    today = today or date.today()
    if db.session.scalar(select(FundTransaction.id).where(FundTransaction.idempotency_key.like("demo:%")).limit(1)):
        return 0
    tenants = {t.code: t for t in db.session.scalars(select(Tenant))}
    y = today.year
    counter = iter(range(1, 10_000))

    def on(year: int, month: int, day: int) -> str:
        return min(date(year, month, day), today).isoformat()

    def body(schema, source, year, amount, doc, when, **extra):
        return load_data(schema, {"source": source, "fiscal_year": year, "amount": amount, "document_no": doc,
                                  "date": when, **extra})

    def receipt(code, source, year, amount, doc, when):
        ops.post_receipt(tenants[code], body(ReceiptIn, source, year, amount, doc, when, tenant=code),
                         idempotency_key=f"demo:{next(counter)}")

    def allocate(parent, child, source, year, amount, doc, when, purpose=None):
        ops.allocate_funds(tenants[parent], tenants[child], body(AllocationIn, source, year, amount, doc, when,
                                                                 purpose=purpose, **{"from": parent, "to": child}),
                           idempotency_key=f"demo:{next(counter)}")

    def give_back(code, to, source, year, amount, doc, when):
        ops.return_funds(tenants[code], body(ReturnIn, source, year, amount, doc, when, tenant=code, to=to),
                         idempotency_key=f"demo:{next(counter)}")

    def pay(code, sources, amount, doc, when, purpose):
        ops.disburse(tenants[code], load_data(DisbursementIn, {
            "amount": amount, "sources": sources, "document_no": doc, "date": when, "purpose": purpose,
            "reference": "demo"}), idempotency_key=f"demo:{next(counter)}")

    # three years ago: C02's counties paid out theirs, except K0202, which never touched its allocation
    old = y - 3
    receipt("C02", "central_finance", old, "800000.00", f"冀财社〔{old}〕21号", on(old, 4, 10))
    allocate("C02", "K0201", "central_finance", old, "400000.00", f"邢工发〔{old}〕7号", on(old, 5, 15), "warmth")
    allocate("C02", "K0202", "central_finance", old, "300000.00", f"邢工发〔{old}〕8号", on(old, 5, 15), "warmth")
    pay("K0201", ["central_finance"], "400000.00", f"襄工帮〔{old}〕2号", on(old, 12, 20), "warmth")
    pay("C02", ["central_finance"], "100000.00", f"邢工帮〔{old}〕1号", on(old, 12, 28), "emergency")

    # two years ago: K0103 spent barely a third of its provincial allocation (a warning now)
    two = y - 2
    receipt("C01", "central_finance", two, "1000000.00", f"冀财社〔{two}〕30号", on(two, 3, 12))
    receipt("C01", "provincial_finance", two, "400000.00", f"冀财社〔{two}〕44号", on(two, 3, 28))
    for county in ("K0101", "K0102"):
        allocate("C01", county, "central_finance", two, "300000.00", f"石工发〔{two}〕11号", on(two, 4, 2), "warmth")
    allocate("C01", "K0103", "provincial_finance", two, "300000.00", f"石工发〔{two}〕12号", on(two, 4, 2), "living")
    pay("K0101", ["central_finance"], "300000.00", f"长工帮〔{two}〕5号", on(two, 12, 25), "warmth")
    pay("K0102", ["central_finance"], "280000.00", f"桥工帮〔{two}〕4号", on(two + 1, 1, 18), "warmth")
    pay("K0103", ["provincial_finance"], "100000.00", f"新工帮〔{two}〕3号", on(two + 1, 1, 20), "living")
    pay("C01", ["central_finance", "provincial_finance"], "480000.00", f"石工帮〔{two}〕9号", on(two + 1, 6, 30),
        "emergency")

    # last year: spent, some of it early this year
    last = y - 1
    receipt("C01", "central_finance", last, "1200000.00", f"冀财社〔{last}〕33号", on(last, 3, 5))
    receipt("C01", "provincial_finance", last, "600000.00", f"冀财社〔{last}〕47号", on(last, 3, 25))
    receipt("C01", "local_matching", last, "1500000.00", f"石财社〔{last}〕10号", on(last, 6, 1))
    for county, amount in (("K0101", "500000.00"), ("K0102", "400000.00"), ("K0103", "300000.00")):
        allocate("C01", county, "central_finance", last, amount, f"石工发〔{last}〕15号", on(last, 4, 8), "warmth")
        pay(county, ["central_finance"], amount, f"{county}帮〔{last}〕1号", on(y, 1, 22), "warmth")
    pay("C01", ["provincial_finance", "local_matching"], "1900000.00", f"石工帮〔{last}〕12号", on(last, 12, 30),
        "living")

    # this year
    receipt("P01", "upper_union", y, "2000000.00", f"总工办发〔{y}〕8号", on(y, 2, 20))
    allocate("P01", "C01", "upper_union", y, "800000.00", f"冀工发〔{y}〕3号", on(y, 2, 28), "model_worker")
    allocate("P01", "C02", "upper_union", y, "600000.00", f"冀工发〔{y}〕3号", on(y, 2, 28), "model_worker")
    receipt("C01", "central_finance", y, "2000000.00", f"冀财社〔{y}〕35号", on(y, 3, 1))
    receipt("C01", "provincial_finance", y, "1000000.00", f"冀财社〔{y}〕48号", on(y, 3, 20))
    receipt("C02", "central_finance", y, "1500000.00", f"冀财社〔{y}〕36号", on(y, 3, 1))
    receipt("C02", "provincial_finance", y, "800000.00", f"冀财社〔{y}〕49号", on(y, 3, 20))
    receipt("C01", "donation", y, "120000.00", f"石慈捐〔{y}〕2号", on(y, 4, 15))
    allocate("C01", "K0101", "central_finance", y, "600000.00", f"石工发〔{y}〕16号", on(y, 3, 10), "warmth")
    allocate("C01", "K0102", "central_finance", y, "500000.00", f"石工发〔{y}〕16号", on(y, 3, 10), "warmth")
    allocate("C01", "K0103", "central_finance", y, "400000.00", f"石工发〔{y}〕17号", on(y, 3, 10), "education")
    allocate("C01", "K0101", "provincial_finance", y, "200000.00", f"石工发〔{y}〕18号", on(y, 4, 1), "medical")
    allocate("C02", "K0201", "central_finance", y, "500000.00", f"邢工发〔{y}〕6号", on(y, 3, 12))
    allocate("C02", "K0202", "central_finance", y, "400000.00", f"邢工发〔{y}〕6号", on(y, 3, 12))
    allocate("C02", "K0203", "central_finance", y, "300000.00", f"邢工发〔{y}〕6号", on(y, 3, 12))
    # the matching receipts (配套): the city's and one county's
    receipt("C01", "local_matching", y, "2400000.00", f"石财社〔{y}〕12号", on(y, 6, 1))
    receipt("K0101", "local_matching", y, "300000.00", f"长财社〔{y}〕4号", on(y, 6, 10))
    # paid out so far this year, and what a campaign did not need
    pay("K0101", ["central_finance"], "180000.00", f"长工帮〔{y}〕1号", on(y, 9, 28), "education")
    pay("K0102", ["central_finance"], "120000.00", f"桥工帮〔{y}〕1号", on(y, 9, 28), "education")
    give_back("K0103", "parent", "central_finance", y, "20000.00", f"新工财〔{y}〕2号", on(y, 10, 9))
    give_back("K0203", "finance", "central_finance", y, "5000.00", f"任工财〔{y}〕1号", on(y, 10, 15))
    return next(counter) - 1
