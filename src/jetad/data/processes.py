"""The physics processes jetad knows, in a fixed order (a module of its own, so that the stages
that only need the names do not depend on the code of the jet-file layout).

Image and score files store a jet's process as its index here (int8), so the order never
changes; new processes go at the end. QCD and top keep the indices 0 and 1 of the published
label (is_signal_new), so a file from the top-tagging record maps label -> process unchanged.

gluon and quark are the two QCD classes of JetNet ([Kansal et al. 2021]: g and q), each a
background of its own: a gluon jet or a light-quark jet, never a resonance's decay.
"""

PROCESSES = ("qcd", "top", "w", "z", "gluon", "quark")
# the QCD classes: is_signal_new 0 in a jet file; every other process is a signal (1)
QCD_PROCESSES = ("qcd", "gluon", "quark")


def signal_label(process: str) -> int:
    """is_signal_new of a process's jets in the top-tagging layout: 0 for QCD, 1 otherwise."""
    return 0 if process in QCD_PROCESSES else 1
