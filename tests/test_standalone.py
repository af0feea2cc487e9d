"""The reference is NumPy only: it imports and computes with torch made unimportable."""
import subprocess
import sys

SCRIPT = """
import sys
sys.modules['torch'] = None  # any 'import torch' now raises ImportError
import numpy as np
import reference, reference.functional as F, reference.definitional
x = np.arange(9.0).reshape(1, 1, 3, 3) + 1
w = np.array([[[[4.0, 3.0], [2.0, 1.0]]]])  # the seed's kernel [[1, 2], [3, 4]], rotated 180 degrees
y = F.conv2d(x, w)
assert y.tolist() == [[[[23.0, 33.0], [53.0, 63.0]]]], y
F.conv2d_backward(np.ones_like(y), x, w)
F.pad_backward(np.ones((1, 1, 5, 5)), x, (1, 1, 1, 1), 'reflect')
assert not any(name == 'torch' or name.startswith('torch.') for name, m in sys.modules.items() if m is not None)
print('ok')
"""


def test_reference_runs_without_torch():
    result = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
