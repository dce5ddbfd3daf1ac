"""Is the download host reachable? Asked before any download, so offline machines fail in seconds."""

import socket

DOWNLOAD_HOST = "storage.googleapis.com"  # serves the TFDS archive mirror and the Keras weights


def network_available(host=DOWNLOAD_HOST, port=443, timeout=3.0):
    """True when a TCP connection to the download host opens within `timeout` seconds."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False
