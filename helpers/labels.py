"""The course's two classes: label 0 is cat, 1 is dog, as in TFDS cats_vs_dogs; a logit above 0 means dog."""

CLASS_NAMES = ("cat", "dog")
