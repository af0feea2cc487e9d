"""Tests of crosscheck.cases: the tables and the strategies."""
