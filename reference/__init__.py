"""conv-crosscheck's NumPy reference: convolutional networks, forward and backward.

``reference.functional`` mirrors ``torch.nn.functional``; ``reference.nn`` mirrors
``torch.nn``; ``reference.definitional`` is the loop-by-loop tier the fast code is held
against. NumPy only: this package never imports torch.
"""
__version__ = "0.1.0"
