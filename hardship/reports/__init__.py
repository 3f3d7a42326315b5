"""Consolidated statistics up the tree (SPEC 6): the summary of any subtree."""
