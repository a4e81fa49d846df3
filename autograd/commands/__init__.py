"""The commands of ``python -m autograd``, one module each."""
