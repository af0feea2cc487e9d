"""``python -m crosscheck.train``: the reference's training run held against torch, step by
step. The program is :mod:`crosscheck.networks.train`."""
import sys

from .networks.train import main

if __name__ == "__main__":
    sys.exit(main())
