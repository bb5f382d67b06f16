"""Batch operations over many workflows."""
