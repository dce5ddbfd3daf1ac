"""Tables that render as HTML in Jupyter and as aligned text in a terminal."""

import html
from dataclasses import asdict

import numpy as np


class Table:
    """Rows under a header; Jupyter shows `_repr_html_`, a terminal shows `str()`."""

    def __init__(self, header, rows, title=""):
        self.header = list(header)
        self.rows = [list(row) for row in rows]
        self.title = title

    def column(self, name):
        """The values of one column, by header name."""
        index = self.header.index(name)
        return [row[index] for row in self.rows]

    def __str__(self):
        cells = [[_format(v) for v in row] for row in [self.header, *self.rows]]
        widths = [max(len(row[i]) for row in cells) for i in range(len(self.header))]
        lines = [self.title] if self.title else []
        for n, row in enumerate(cells):
            lines.append("  ".join(c.rjust(w) if _is_number(c) else c.ljust(w) for c, w in zip(row, widths)))
            if n == 0:
                lines.append("  ".join("-" * w for w in widths))
        return "\n".join(line.rstrip() for line in lines)

    __repr__ = __str__

    def _repr_html_(self):
        head = "".join(f"<th>{html.escape(str(h))}</th>" for h in self.header)
        body = "".join(
            "<tr>" + "".join(f"<td>{html.escape(_format(v))}</td>" for v in row) + "</tr>" for row in self.rows
        )
        caption = f"<caption>{html.escape(self.title)}</caption>" if self.title else ""
        return f"<table>{caption}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _format(value):
    if isinstance(value, bool) or value is None:
        return {True: "yes", False: "no", None: ""}[value]
    if isinstance(value, (int, np.integer)):
        return f"{value:,}"
    if isinstance(value, (float, np.floating)):
        return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.4g}"
    return str(value)


def _is_number(text):
    return text.replace(",", "").replace(".", "").replace("-", "").replace("e", "").isdigit()


def count_params(weights):
    """Total number of scalars in a list of Keras variables (anything with a `shape`)."""
    return int(sum(np.prod(w.shape) for w in weights))


def layer_table(model, title=""):
    """One row per top-level layer of `model`: name, type, trainable, parameter counts, and a totals row."""
    header = ["layer", "type", "trainable", "trainable params", "non-trainable params"]
    rows = [
        [
            layer.name,
            type(layer).__name__,
            layer.trainable,
            count_params(layer.trainable_weights),
            count_params(layer.non_trainable_weights),
        ]
        for layer in model.layers
    ]
    rows.append(["total", "", None, count_params(model.trainable_weights), count_params(model.non_trainable_weights)])
    return Table(header, rows, title=title)


def settings_table(settings):
    """The settings in force, one row each."""
    return Table(["setting", "value"], asdict(settings).items(), title="Settings in force")
