"""The special-fund ledger (帮扶专项资金, SPEC 4): lots, double-entry transactions, aging, matching."""
