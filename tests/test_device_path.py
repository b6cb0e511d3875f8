"""The device path never imports TensorFlow: importing the package, --help, and device commands."""

import subprocess
import sys

from conftest import ROOT, run_cli

CHECK = """
import sys, runpy
sys.argv = ["edge-lstm", *{args!r}]
try:
    runpy.run_module("edge_lstm", run_name="__main__")
except SystemExit:
    pass
print("TENSORFLOW" if "tensorflow" in sys.modules else "NO-TENSORFLOW")
"""


def tf_loaded_by(*args: str) -> str:
    done = subprocess.run([sys.executable, "-c", CHECK.format(args=list(args))], capture_output=True,
                          text=True, cwd=ROOT)
    return done.stdout.strip().splitlines()[-1]


def test_import_and_help_do_not_import_tensorflow():
    done = subprocess.run([sys.executable, "-c", "import sys, edge_lstm.cli, edge_lstm.runtime, "
                           "edge_lstm.parity, edge_lstm.infer, edge_lstm.bench, edge_lstm.verify; "
                           "print('tensorflow' in sys.modules)"], capture_output=True, text=True, cwd=ROOT)
    assert done.stdout.strip() == "False", done.stderr
    assert tf_loaded_by("--help") == "NO-TENSORFLOW"


def test_cli_help_lists_the_commands():
    done = run_cli("--help")
    assert done.returncode == 0
    for command in ("train", "convert", "parity", "infer", "bench"):
        assert command in done.stdout
