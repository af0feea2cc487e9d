"""The value parsers of ``python -m reference.train``'s options: each turns a command-line string
into a number or a pair, or refuses it with an ``argparse.ArgumentTypeError`` that quotes it."""
from __future__ import annotations

import argparse

import numpy as np


def positive(kind):
    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {'an integer' if kind is int else 'a number'}, got {text!r}") from None
        if not value > 0:
            raise argparse.ArgumentTypeError(f"must be positive, got {text!r}")
        return value

    return parse


def non_negative(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a finite non-negative number, got {text!r}")
    return value


def finite(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not np.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be finite, got {text!r}")
    return value


def channels(text):
    try:
        items = tuple(int(t) for t in text.split(","))
    except ValueError:
        items = ()
    if len(items) != 2 or min(items) < 1:
        raise argparse.ArgumentTypeError(f"expected two positive ints 'c1,c2', got {text!r}")
    return items


def fraction(text):
    value = non_negative(text)
    if value >= 1:
        raise argparse.ArgumentTypeError(f"must be in [0, 1), got {text!r}")
    return value
