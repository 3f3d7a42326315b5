"""The hardship-household archive (困难职工档案, SPEC 3)."""
