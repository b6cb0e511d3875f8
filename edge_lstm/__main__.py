"""``python -m edge_lstm`` runs the command line, like ``edge-lstm``."""

from edge_lstm.cli import main

main()
