"""``python -m reference.train``: train the LeNet-style network on handwritten digits, NumPy only.

The program is :mod:`reference.training.train` (its options, output and exit status are
described there); this module only runs it.
"""
import sys

from .training.train import main

if __name__ == "__main__":
    sys.exit(main())
