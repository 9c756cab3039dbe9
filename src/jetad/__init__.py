"""jetad: anomalous jet detection with a Joint VAE, from jets to FPGA resource estimates."""

import os

# QKeras needs Keras 2: tf.keras must resolve to tf_keras before TensorFlow is first imported.
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
# TensorFlow's C++ INFO and WARNING lines (CPU-feature and oneDNN notices) held back; a user's own
# setting wins. What this cannot hold back (absl's start-up lines) goes to the log file: jetad.log.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# Matplotlib stamps PDFs with this date instead of the current time: same inputs, same bytes.
os.environ.setdefault("SOURCE_DATE_EPOCH", "0")
# With TensorFlow's default inter-op pool, independent graph ops run concurrently and, under
# machine load, a few gradients came out different in the last bits (2 of 6 concurrent QAT runs;
# Adam turns the ~1e-10 bias gradients ahead of an instance norm into ~4e-3 weight changes).
# One inter-op thread made every run identical and was not slower on 2 cores (61-63 s against
# 66-70 s for 3 QAT epochs). Forced, not defaulted: the same parameters must give the same bytes.
os.environ["TF_NUM_INTEROP_THREADS"] = "1"

__version__ = "0.1.0"
