"""``python -m framecast`` runs the command line."""

from framecast.cli import run

run()
