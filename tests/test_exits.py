"""The edge-lstm program ends with at most one line on stderr and a non-zero exit code when it is
interrupted or cannot write its answers (the device commands need no TensorFlow for this)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from conftest import ROOT

INTERRUPT_WHILE_LOADING = """
import builtins, os, runpy, signal, sys
real_import = builtins.__import__

def ctrl_c_during_typer(name, *args, **kwargs):
    if name == "typer":  # a real SIGINT, delivered while the command line imports its libraries
        os.kill(os.getpid(), signal.SIGINT)
    return real_import(name, *args, **kwargs)

builtins.__import__ = ctrl_c_during_typer
sys.argv = ["edge-lstm", "--help"]
runpy.run_module("edge_lstm", run_name="__main__", alter_sys=True)
"""


def test_ctrl_c_while_the_command_line_loads():
    done = subprocess.run([sys.executable, "-c", INTERRUPT_WHILE_LOADING], capture_output=True,
                          text=True, cwd=ROOT)
    assert (done.returncode, done.stderr, done.stdout) == (130, "error: interrupted\n", "")


def edge_lstm(*args, stdout) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "edge_lstm", *args], stdout=stdout,
                          stderr=subprocess.PIPE, text=True, cwd=ROOT)


COMMANDS = [["--version"], ["--help"], ["parity", "--limit", "20"]]


@pytest.mark.parametrize("args", COMMANDS, ids=lambda a: a[0])
def test_standard_output_full(args):
    with open("/dev/full", "w") as full:
        done = edge_lstm(*args, stdout=full)
    assert (done.returncode, done.stderr) == (2, "error: cannot write to standard output: No space "
                                                 "left on device\n")


@pytest.mark.parametrize("args", COMMANDS, ids=lambda a: a[0])
def test_standard_output_is_a_pipe_nobody_reads(args):
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        done = edge_lstm(*args, stdout=write_end)
    finally:
        os.close(write_end)
    assert (done.returncode, done.stderr) == (2, "error: cannot write to standard output: Broken pipe\n")


def test_standard_output_closed():
    done = subprocess.run(["sh", "-c", 'exec "$0" -m edge_lstm parity --limit 20 >&-', sys.executable],
                          stderr=subprocess.PIPE, text=True, cwd=ROOT)
    assert (done.returncode, done.stderr) == (2, "error: standard output is closed; nowhere to write "
                                                 "the answers\n")
