"""An implementation that brings its process down: ``conv1d`` aborts on a strided, dilated call
(``stride=2, dilation=2``, as XLA aborted on dilated, strided conv2d calls), ``sigmoid``
never returns and ``tanh`` reserves 4 GiB of address space (``np.empty``: no page is touched,
so without a memory cap it costs nothing, and then computes the right answer). Everything else is :mod:`reference.functional`. The subject of the crash
isolation's tests: every other case must still be reported."""
import os
import time

import numpy as np

from reference import functional as _ref
from reference.functional import *  # noqa: F401,F403


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    if stride == 2 and dilation == 2:
        os.abort()
    return _ref.conv1d(input, weight, bias, stride, padding, dilation, groups)


def sigmoid(input):
    time.sleep(3600)


def tanh(input):
    reserved = [np.empty(2**27) for _ in range(4)]  # 4 × 1 GiB, never written
    del reserved
    return _ref.tanh(input)
