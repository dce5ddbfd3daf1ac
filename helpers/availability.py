"""Notebook 00's tables: whether the data and the weights the settings need can be had, and what to do if not;
and every data source the course knows (helpers/sources/), whether it is here, and how to get it."""

from helpers import network
from helpers.bases import BASES
from helpers.pretrained import weights_host, weights_status
from helpers.sources import SOURCES, data_host, data_status
from helpers.tables import Table


def download_hosts(settings):
    """The hosts the settings' data and the base's ImageNet weights come from (none for what needs no download)."""
    hosts = {data_host(settings)}
    if BASES[settings.base_model].weights_file:
        hosts.add(weights_host(settings.base_model))
    return sorted(hosts - {None})


def network_lines(settings):
    """One line per download host: whether this machine reaches it."""
    return [
        f"Network to {host}: {'yes' if network.network_available(host) else 'no'}" for host in download_hosts(settings)
    ]


def availability_table(settings):
    """A table of the data and weights the settings need, with their status and advice."""
    rows = [["data", *data_status(settings)], [f"weights ({settings.base_model})", *weights_status(settings)]]
    for row in rows:
        row[2] = "available" if row[2] else "NOT AVAILABLE"
    return Table(["what", "from", "status", "what to do"], rows, title="Data and weights")


def sources_table(settings):
    """One row per data source (COURSE_DATA_SOURCE): what it is, its classes, whether it is here, how to get it.

    Nothing is probed: a source that is not here names the command that fetches it and the host it comes
    from (availability_table and network_lines say whether the settings' own source can be had now).
    """
    rows = []
    for name, source in SOURCES.items():
        here = source.ready(settings)
        if here:
            how = ""
        elif source.prefetch is not None:
            how = f"downloaded on first use, or `{source.prefetch_command}` (about {source.size_mb} MB from {source.host()})"
        else:
            how = source.status(settings)[2]  # a source that downloads nothing: its status probes nothing
        classes = source.classes()
        rows.append(
            [
                f"{name} (in use)" if name == settings.data_source else name,
                source.what,
                ", ".join(classes) if classes else "from the data",
                "yes" if here else "no",
                how,
            ]
        )
    return Table(["COURSE_DATA_SOURCE", "what", "classes", "here", "how to get it"], rows, title="Data sources")
