"""Timers: one in-memory heap of deadlines, rebuilt from mutable state at start-up."""
