"""The tenant tree: unions as tenants, level plugins, subtree scoping and settings."""
