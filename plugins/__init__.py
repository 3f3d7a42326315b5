"""Shipped level plugins, one package per level (entry-point group ``hardship.levels``)."""
