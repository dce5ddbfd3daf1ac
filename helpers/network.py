"""Whether a download host can be reached: the course asks before it downloads, so offline fails in seconds."""

import socket
from urllib.parse import urlparse


def network_available(host, port=443, timeout=3.0):
    """True when a TCP connection to `host` opens within `timeout` seconds."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def url_host(url):
    """The host a URL downloads from (None for a file:// URL, which needs no network)."""
    return urlparse(url).hostname
