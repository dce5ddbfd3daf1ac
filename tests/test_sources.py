"""The data sources' table (helpers/sources/): a source is one module that every other place finds in the table;
TFDS tf_flowers (COURSE_DATA_SOURCE=flowers), tested offline with TFDS's mock data."""

import importlib
import sys
from dataclasses import replace
from pathlib import Path
from urllib.parse import urlparse

import pytest

from commands import prefetch
from helpers import config, downloads, notebook, offline, sources
from helpers.config import PROFILES, load_settings
from helpers.sources import flowers

FLOWERS_HOST = "download.tensorflow.org"


def prepare_flowers(cache_dir):
    """What a prepared TFDS tf_flowers looks like to TFDS: its version folder with dataset_info.json."""
    import tensorflow_datasets as tfds

    folder = Path(cache_dir) / "tensorflow_datasets" / "tf_flowers" / str(tfds.builder_cls("tf_flowers").VERSION)
    folder.mkdir(parents=True)
    (folder / "dataset_info.json").write_text("{}")


def no_probe(host):
    raise AssertionError(f"probed {host} although nothing needed the network")


# ---------------------------------------------------------------- the table


def test_every_entry_is_filed_under_its_own_name_and_says_what_it_needs():
    assert set(sources.SOURCES) == {"filtered", "flowers", "folder", "synthetic", "tfds"}
    for name, source in sources.SOURCES.items():
        assert source.name == name and source.what
        if source.prefetch is not None:  # a download: a host, a size, and who needs it
            assert source.host() and source.size_mb > 0 and source.used_by, name
        if not source.replaceable:  # `make run` stops with the source's own sentence
            assert source.problem is not None or source.prefetch is None, name
    assert [name for name, s in sources.SOURCES.items() if s.prefetch and not s.prefetch_variable] == ["filtered"]
    assert {s.prefetch_variable for s in sources.SOURCES.values()} - {""} == {
        "COURSE_PREFETCH_FULL",
        "COURSE_PREFETCH_FLOWERS",
    }
    assert {"COURSE_PREFETCH_FULL", "COURSE_PREFETCH_FLOWERS"} <= set(config.known_settings())


def test_no_profile_chooses_flowers():
    assert "flowers" not in {profile["data_source"] for profile in PROFILES.values()}


# ---------------------------------------------------------------- tf_flowers


def test_flowers_has_the_builders_five_classes_and_host():
    import tensorflow_datasets as tfds

    source = sources.SOURCES["flowers"]
    names = tfds.builder("tf_flowers").info.features["label"].names
    assert source.classes() == tuple(names) and len(names) == 5 and "roses" in names
    module = sys.modules[tfds.builder_cls("tf_flowers").__module__]
    assert source.host() == urlparse(module._URL).hostname == FLOWERS_HOST
    assert load_settings({"COURSE_DATA_SOURCE": "flowers"}).source is source


def test_the_flowers_loader_gives_three_capped_splits_of_five_classes(tmp_path, monkeypatch):
    import tensorflow as tf
    import tensorflow_datasets as tfds

    monkeypatch.setattr(downloads, "network_available", lambda host: True)
    asked, load = [], tfds.load
    monkeypatch.setattr(tfds, "load", lambda *args, **kwargs: asked.append(kwargs) or load(*args, **kwargs))
    with tfds.testing.mock_data(num_examples=20):
        course = flowers.load_flowers(tmp_path, 8, 4)
        whole = flowers.load_flowers(tmp_path, 0, 0)
    assert course.sizes == {"train": 8, "validation": 4, "test": 4}
    assert whole.sizes == {"train": 20, "validation": 20, "test": 20}  # the mock gives 20 to any split
    assert asked[0]["split"] == ["train[:70%]", "train[70%:85%]", "train[85%:]"]
    assert asked[0]["data_dir"] == str(tmp_path / "tensorflow_datasets")
    assert course.class_names == list(flowers.flowers_classes())
    for split in (course.train, course.validation, course.test):
        image, label = next(iter(split))
        assert image.dtype == tf.uint8 and image.shape[-1] == 3 and 0 <= int(label) < 5
    assert str(tmp_path / "tensorflow_datasets") in course.description and "70/15/15" in course.description


def test_load_data_reads_flowers_through_the_table_with_the_settings_caps(tmp_path, monkeypatch):
    import tensorflow_datasets as tfds

    from helpers import data

    monkeypatch.setattr(downloads, "network_available", lambda host: True)
    env = {"COURSE_DATA_SOURCE": "flowers", "COURSE_CACHE_DIR": str(tmp_path)}
    settings = load_settings({**env, "COURSE_TRAIN_IMAGES": "12", "COURSE_EVAL_IMAGES": "3"})
    with tfds.testing.mock_data(num_examples=30):
        course = data.load_data(settings)
    assert course.sizes == {"train": 12, "validation": 3, "test": 3} and len(course.class_names) == 5


def test_flowers_missing_offline_is_said_with_the_prefetch_setting(tmp_path, monkeypatch):
    probed = []
    monkeypatch.setattr(downloads, "network_available", lambda host: probed.append(host) or False)
    settings = load_settings({"COURSE_DATA_SOURCE": "flowers", "COURSE_CACHE_DIR": str(tmp_path)})
    where, ok, advice = sources.data_status(settings)
    assert (where, ok) == (str(tmp_path / "tensorflow_datasets"), False)
    assert "run `COURSE_PREFETCH_FLOWERS=1 make prefetch`" in advice and f"no network to {FLOWERS_HOST}" in advice
    assert notebook.availability_table(settings).column("status")[0] == "NOT AVAILABLE"
    assert FLOWERS_HOST in probed
    with pytest.raises(downloads.DataUnavailable) as error:
        flowers.load_flowers(tmp_path, 0, 0)
    message = str(error.value)
    assert message.startswith(
        f"TFDS tf_flowers is not prepared in {tmp_path / 'tensorflow_datasets'} and could not be downloaded "
        f"(no network to {FLOWERS_HOST}): run `COURSE_PREFETCH_FLOWERS=1 make prefetch` on a connected machine"
    )
    assert "\n" not in message


def test_a_failing_flowers_download_is_one_sentence(tmp_path, monkeypatch):
    import tensorflow_datasets as tfds

    monkeypatch.setattr(downloads, "network_available", lambda host: True)

    def fail(*args, **kwargs):
        raise ConnectionError("simulated: no route to host")

    monkeypatch.setattr(tfds, "load", fail)
    with pytest.raises(
        downloads.DataUnavailable, match=r"could not be downloaded \(ConnectionError\): run `COURSE_PREF"
    ):
        flowers.load_flowers(tmp_path, 0, 0)


def test_prepared_flowers_need_no_network(tmp_path, monkeypatch):
    prepare_flowers(tmp_path)
    monkeypatch.setattr(downloads, "network_available", no_probe)
    settings = load_settings({"COURSE_DATA_SOURCE": "flowers", "COURSE_CACHE_DIR": str(tmp_path)})
    assert sources.data_status(settings) == (f"{tmp_path / 'tensorflow_datasets'} (cached)", True, "")
    assert settings.source.ready(settings)
    row = notebook.sources_table(settings).rows[1]
    assert row[:4] == ["flowers (in use)", "TFDS tf_flowers", "dandelion, daisy, tulips, sunflowers, roses", "yes"]


def test_make_run_offline_stops_with_one_sentence_when_flowers_were_chosen(tmp_path, monkeypatch):
    monkeypatch.setattr(downloads, "network_available", lambda host: False)
    settings = load_settings({"COURSE_DATA_SOURCE": "flowers", "COURSE_CACHE_DIR": str(tmp_path)})
    with pytest.raises(downloads.DataUnavailable) as error:
        offline.offline_fallback(settings, chosen={"COURSE_DATA_SOURCE", "COURSE_CACHE_DIR"})
    message = str(error.value)
    assert message.startswith("You set COURSE_DATA_SOURCE=flowers, which needs TFDS tf_flowers, but it is not in ")
    for named in (FLOWERS_HOST, "run `COURSE_PREFETCH_FLOWERS=1 make prefetch`", "or change COURSE_DATA_SOURCE."):
        assert named in message, named
    assert "\n" not in message


# ---------------------------------------------------------------- a new source is one module

FAKE_MODULE = '''
"""A source that lives in one module."""

from helpers.sources.entry import Source

fetched = []


def prefetch(cache_dir):
    fetched.append(cache_dir)
    return f"the fake photos (COURSE_DATA_SOURCE=fake): {cache_dir}"


SOURCE = Source(
    name="fake",
    what="the fake photos",
    load=lambda settings: ("loaded", settings.train_images),
    status=lambda settings: ("fake.example.org/photos", False, "Fetch them."),
    ready=lambda settings: bool(fetched),
    host=lambda: "fake.example.org",
    prefetch=prefetch,
    prefetch_variable="COURSE_PREFETCH_FAKE",
    size_mb=5,
    used_by="COURSE_DATA_SOURCE=fake",
    classes=lambda: ("left", "right", "up"),
    replaceable=True,
)
'''


@pytest.fixture
def fake_source(tmp_path, monkeypatch):
    """A package holding one source module, found by sources_of and added to the table, as a module of
    helpers/sources/ would be."""
    package = tmp_path / "more_sources"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "fake.py").write_text(FAKE_MODULE)
    (package / "notes.py").write_text("NOT_A_SOURCE = 1\n")  # a module without SOURCE is not a source
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        found = sources.sources_of(importlib.import_module("more_sources"))
        assert list(found) == ["fake"]
        monkeypatch.setitem(sources.SOURCES, "fake", found["fake"])
        yield sys.modules["more_sources.fake"]
    finally:
        for name in ("more_sources", "more_sources.fake", "more_sources.notes"):
            sys.modules.pop(name, None)


def test_a_source_module_is_seen_by_settings_status_and_load_data(fake_source, tmp_path):
    from helpers import data

    settings = load_settings({"COURSE_DATA_SOURCE": "fake", "COURSE_CACHE_DIR": str(tmp_path)})
    assert sources.data_status(settings) == ("fake.example.org/photos", False, "Fetch them.")
    assert sources.data_host(settings) == "fake.example.org"
    assert data.load_data(settings) == ("loaded", settings.train_images)
    assert config.unknown_settings({"COURSE_PREFETCH_FAKE": "1"}) == []


def test_a_source_module_is_seen_by_notebook_00(fake_source, tmp_path, monkeypatch):
    monkeypatch.setattr(downloads, "network_available", lambda host: False)
    settings = load_settings({"COURSE_DATA_SOURCE": "fake", "COURSE_CACHE_DIR": str(tmp_path)})
    table = notebook.availability_table(settings)
    assert table.rows[0][:3] == ["data", "fake.example.org/photos", "NOT AVAILABLE"]
    assert "Network to fake.example.org: no" in notebook.network_lines(settings)
    rows = {row[0]: row for row in notebook.sources_table(settings).rows}
    assert rows["fake (in use)"][1:4] == ["the fake photos", "left, right, up", "no"]
    assert "`COURSE_PREFETCH_FAKE=1 make prefetch` (about 5 MB from fake.example.org)" in rows["fake (in use)"][4]


def test_a_source_module_is_seen_by_make_runs_fallback(fake_source, tmp_path, monkeypatch):
    monkeypatch.setattr(downloads, "network_available", lambda host: False)
    settings = load_settings({"COURSE_DATA_SOURCE": "fake", "COURSE_CACHE_DIR": str(tmp_path)})
    with pytest.raises(
        downloads.DataUnavailable, match=r"^You set COURSE_DATA_SOURCE=fake, which needs the fake photos"
    ):
        offline.offline_fallback(settings, chosen={"COURSE_DATA_SOURCE"})
    overrides, sentence = offline.offline_fallback(settings, chosen=set())  # as if it were a profile's default
    assert overrides["COURSE_DATA_SOURCE"] == "synthetic" and "no usable cached copy of the fake photos" in sentence


def test_a_source_module_is_seen_by_make_prefetch(fake_source, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("COURSE_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv("COURSE_PREFETCH_FAKE", raising=False)
    monkeypatch.setattr(downloads, "network_available", lambda host: True)
    monkeypatch.setattr(prefetch, "download_weights", lambda base, cache_dir: f"{base}.h5")
    filtered = replace(sources.SOURCES["filtered"], prefetch=lambda cache_dir: "the filtered photos")
    monkeypatch.setitem(sources.SOURCES, "filtered", filtered)
    assert "fake.example.org" not in prefetch.download_hosts()
    assert prefetch.main([]) == 0
    assert fake_source.fetched == []
    assert "run `COURSE_PREFETCH_FAKE=1 make prefetch` to fetch it too." in capsys.readouterr().out
    monkeypatch.setenv("COURSE_PREFETCH_FAKE", "1")
    assert "fake.example.org" in prefetch.download_hosts()
    assert prefetch.main([]) == 0
    assert fake_source.fetched == [tmp_path]
    output = capsys.readouterr().out
    assert f"the fake photos (COURSE_DATA_SOURCE=fake): {tmp_path}" in output and "PREFETCH_FAKE=1 make" not in output


def test_two_modules_cannot_claim_one_source_name(tmp_path, monkeypatch):
    package = tmp_path / "twice"
    package.mkdir()
    (package / "__init__.py").write_text("")
    for name in ("one", "two"):
        (package / f"{name}.py").write_text(FAKE_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        with pytest.raises(ValueError, match="Two modules of twice define the data source 'fake'"):
            sources.sources_of(importlib.import_module("twice"))
    finally:
        for name in ("twice", "twice.one", "twice.two"):
            sys.modules.pop(name, None)
