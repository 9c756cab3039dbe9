"""The physics processes jetad knows, in a fixed order (a module of its own, so that the stages
that only need the names do not depend on the code of the jet-file layout).

Image and score files store a jet's process as its index here (int8), so the order never
changes; new processes go at the end. QCD and top keep the indices 0 and 1 of the published
label (is_signal_new), so a file from the top-tagging record maps label -> process unchanged.
"""

PROCESSES = ("qcd", "top", "w", "z")
