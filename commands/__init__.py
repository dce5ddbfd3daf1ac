"""The course's commands (`make run`, `make prefetch`, `make lab`, `make student`, `make predict`, `make bench`,
`make site`, and `make sync`'s second step), each run as `python -m commands.NAME`.

Each is a thin `main(argv=None) -> int` over the library in helpers/, its arguments read with argparse;
importing one imports nothing heavy (TensorFlow, Keras, JAX): that waits until its `main` runs.
tests/test_commands.py checks both.
"""

import argparse

SETTINGS_NOTE = (
    "The course's settings are COURSE_* environment variables, not options: COURSE_PROFILE=quick make run, "
    "for one (docs/settings.md lists them)."
)


def argument_parser(prog, doc):
    """The command line of the command `prog`: its `--help` prints `doc` (the command's docstring) and where
    the settings are."""
    return argparse.ArgumentParser(
        prog=prog, description=doc, epilog=SETTINGS_NOTE, formatter_class=argparse.RawDescriptionHelpFormatter
    )
