"""Aid campaigns (SPEC 5): programs, batches, no duplicate aid, approval, payment through the ledger."""
