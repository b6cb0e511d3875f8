"""``python -m edge_lstm`` runs the command line, like ``edge-lstm``."""

from edge_lstm.cli import app

app(prog_name="edge-lstm")
