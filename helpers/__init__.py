"""Shared code of the course *Hybrid Quantum-Classical Image Classification*.

Layers, from the bottom up (each imports only those before it):

``data`` → ``circuits`` → ``layers`` → ``models`` → ``training`` / ``benchmark``;
``reproducibility`` and ``plotting`` depend on none of them.

Importing ``helpers`` itself is cheap: submodules are imported where used,
e.g. ``from helpers.data import load_mnist``.
"""

__version__ = "0.1.0"
