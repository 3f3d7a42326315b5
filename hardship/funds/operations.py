"""The ledger's operations: the only code that changes the ledger (the UI, the API, the command line, the
demo and the aid module call these). The rules of each posting are in :mod:`~hardship.funds.postings` and
:mod:`~hardship.funds.disbursements`; they write through :mod:`~hardship.funds.ledger`, the one write path.
None commits: the request, the command or the job that owns the transaction does."""

from hardship.funds.disbursements import disburse, plan_disbursement
from hardship.funds.ledger import MAX_KEY, Posted, check_idempotency_key
from hardship.funds.postings import (
    POSTING_FIELDS,
    allocate_funds,
    may_reverse,
    may_reverse_as,
    parent_of,
    post_receipt,
    require_ledger_reader,
    require_reverser,
    return_funds,
    reversal_of,
    reverse_transaction,
)

__all__ = ["MAX_KEY", "POSTING_FIELDS", "Posted", "allocate_funds", "check_idempotency_key", "disburse", "may_reverse",
           "may_reverse_as", "parent_of", "plan_disbursement", "post_receipt", "require_ledger_reader",
           "require_reverser", "return_funds", "reversal_of", "reverse_transaction"]
