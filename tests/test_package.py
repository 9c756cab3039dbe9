"""What importing jetad sets up before TensorFlow starts."""

import os
import subprocess
import sys


def test_import_forces_one_inter_op_thread():
    # a user's own setting would let concurrent graph ops change the last bits of gradients
    env = {**os.environ, "TF_NUM_INTEROP_THREADS": "4"}
    out = subprocess.run(
        [sys.executable, "-c", "import os, jetad; print(os.environ['TF_NUM_INTEROP_THREADS'],"
         " os.environ['TF_USE_LEGACY_KERAS'])"],
        env=env, capture_output=True, text=True, check=True).stdout.split()
    assert out == ["1", "1"]
