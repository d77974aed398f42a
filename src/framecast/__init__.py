"""framecast: a live image server."""

__version__ = "0.1.0"
