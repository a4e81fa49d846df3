"""Speed and memory of tapegrad beside PyTorch CPU, and beside the machine's GEMM rate.

Run ``python -m benchmarks.run`` (``--quick`` for tiny sizes, ``--json PATH`` to save the
results); see benchmarks/README.md. Importing this package does nothing heavy: the
thread counts must be pinned before NumPy or PyTorch is imported, which ``run`` and
``child`` do first.
"""
