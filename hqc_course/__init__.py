"""Shared code of the course *Hybrid Quantum-Classical Image Classification*.

Layers, from the bottom up; a module imports only modules of lower layers (``tests/test_layering.py``
checks it, imports inside functions included):

0. ``settings`` (every ``HQC_*`` variable and folder), ``files`` (atomic writes, checksums),
   ``reproducibility``, ``course``, ``runs`` (what one benchmark run is: its request and packed results)
1. ``data`` (datasets and their provenance), ``cache`` (checked caches), ``isolate`` (runs in child processes)
2. ``circuits`` (the QNN, defined once)
3. ``statevector`` (the ``keras.ops`` simulator), ``qiskit_circuits``
4. ``layers`` (``QuantumLayer``, ``RingDense``)
5. ``models``, ``instruments``
6. ``training``
7. ``quanvolution`` (chapter 10), ``transfer`` (chapter 11)
8. ``benchmark`` (a subpackage with layers of its own, catalogue → spec → plan → cost/store →
   stats/progress → report/cluster → run → ``__main__``; its catalogue imports the trainers of
   ``training`` (when a run starts), ``quanvolution`` and ``transfer``)

``plotting`` stands apart: it draws what it is given and imports no other module of the package.

Importing ``hqc_course`` itself is cheap and has no side effects: submodules are imported where used,
e.g. ``from hqc_course.data import load_mnist``.
"""

__version__ = "0.1.0"
