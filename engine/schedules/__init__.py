"""Schedules: spec parsing and evaluation (`cron`, `spec`), state, the runner and the RPC logic."""
