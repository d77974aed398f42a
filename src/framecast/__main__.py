"""``python -m framecast`` runs the command line."""

from .cli import run

run()
