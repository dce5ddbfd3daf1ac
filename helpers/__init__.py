"""Plumbing for the transfer-learning course: settings, data, models, tables, plots, exercise checks."""

import os

# Quiet TensorFlow's C++ start-up chatter (CUDA probing on CPU machines); must precede its import.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
