"""The course's commands (`make run`, `make prefetch`, `make lab`, `make student`, `make predict`, `make bench`).

Each is a thin `main` over the library in helpers/; importing one imports nothing heavy (TensorFlow, Keras,
JAX): that waits until its `main` runs. tests/test_commands.py measures it.
"""
