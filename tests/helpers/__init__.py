"""Helpers shared by several test files (never collected: no test_ names)."""
