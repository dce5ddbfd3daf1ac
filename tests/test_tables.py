import keras

from helpers.tables import Table, count_params, layer_table


def test_text_table_aligns_numbers_right_and_text_left():
    text = str(Table(["name", "count"], [["a", 5], ["longer", 12345]]))
    lines = text.splitlines()
    assert lines[0] == "name    count"
    assert lines[2] == "a" + " " * 12 + "5"
    assert lines[3] == "longer  12,345"


def test_html_table_escapes_and_shows_every_cell():
    html = Table(["a<b"], [["x&y"]], title="T")._repr_html_()
    assert "<caption>T</caption>" in html and "a&lt;b" in html and "x&amp;y" in html


def test_layer_table_counts_per_layer_and_totals():
    frozen = keras.layers.Dense(3, name="frozen")
    model = keras.Sequential([keras.Input((4,)), frozen, keras.layers.BatchNormalization(name="bn")])
    frozen.trainable = False
    table = layer_table(model)
    assert table.column("layer") == ["frozen", "bn", "total"]
    assert table.column("trainable")[:2] == [False, True]
    assert table.column("trainable params") == [0, 6, 6]
    assert table.column("non-trainable params") == [15, 6, 21]
    assert "frozen  Dense" in str(table)


def test_count_params_needs_only_shapes():
    class Weight:
        shape = (3, 4)

    assert count_params([Weight(), Weight()]) == 24
