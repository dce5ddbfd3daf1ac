"""Notebook 00's table: whether the data and the weights the settings need can be had, and what to do if not."""

from helpers import network
from helpers.bases import BASES
from helpers.pretrained import weights_host, weights_status
from helpers.sources import data_host, data_status
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
