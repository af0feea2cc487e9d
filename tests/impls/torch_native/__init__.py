"""Planted bugs written as torch code, gated through ``--framework torch``: each module is
``torch.nn.functional`` with one realistic bug, in the forms a kernel author writes (a wrapper
of ``F``, a ``torch.autograd.Function`` with its own backward). Each says which bug, which
cases reveal it, and (its ``GATE``) the quantity it must be caught on."""
