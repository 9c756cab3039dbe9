"""jetad: anomalous jet detection with a Joint VAE, from jets to FPGA resource estimates."""

import os

# QKeras needs Keras 2: tf.keras must resolve to tf_keras before TensorFlow is first imported.
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# Matplotlib stamps PDFs with this date instead of the current time: same inputs, same bytes.
os.environ.setdefault("SOURCE_DATE_EPOCH", "0")

__version__ = "0.1.0"
