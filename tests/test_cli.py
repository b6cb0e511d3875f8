"""The command line as a user meets it, run in this process (typer's CliRunner): help without
placeholders, every usage error one line with exit code 2, and parity's table readable when piped."""

from __future__ import annotations

import json

import pytest

from conftest import ROOT
from conftest import invoke_cli as cli
from edge_lstm import bench, manifest

COMMANDS = ["train", "convert", "parity", "infer", "bench"]


@pytest.mark.parametrize("command", [[], *([c] for c in COMMANDS)], ids=["edge-lstm", *COMMANDS])
def test_help_has_no_placeholder_on_flags(command):
    done = cli(*command, "--help")
    assert done.exit_code == 0 and "Usage: " in done.stdout
    assert "<bool>" not in done.stdout and "BOOLEAN" not in done.stdout
    assert "╭" not in done.stdout  # plain text, no boxes


def test_no_command_shows_the_help_as_a_usage_error():
    done = cli()
    assert done.exit_code == 2 and all(c in done.stdout for c in COMMANDS)


SAMPLES = str(ROOT / "docs" / "samples")
USAGE_ERRORS = [
    (["nope"], "No such command 'nope'"),
    (["infer", "--bogus"], "No such option: --bogus"),
    (["infer", "--camera", "-1"], "Invalid value for '--camera'"),
    (["infer", "--camera", "1099511627776"], "Invalid value for '--camera'"),
    (["infer", "--threads", "65", SAMPLES], "Invalid value for '--threads'"),
    (["infer", "--fps", "nan", "--camera", "0"], "Invalid value for '--fps'"),
    (["infer", "--runtime", "onnxruntime", SAMPLES], "Invalid value for '--runtime'"),
    (["infer", "x.png", "--roi", "1,2,3"], "'--roi': must be x,y,w,h in whole pixels, got '1,2,3'"),
    (["infer", "x.png", "--roi", "1,2,0,3"], "'--roi': needs x, y ≥ 0 and w, h > 0"),
    (["infer", "--video", "/nonexistent.avi"], "'--video': file '/nonexistent.avi' does not exist"),
    (["infer", SAMPLES, "--model", "/nonexistent.tflite"], "'/nonexistent.tflite' does not exist"),
    (["infer", "--model", SAMPLES, SAMPLES], "is a directory"),
    (["parity", "/nonexistent.tflite"], "'/nonexistent.tflite' does not exist"),
    (["parity", "--limit", "0"], "Invalid value for '--limit'"),
    (["parity", "--min-agreement", "nan"], "Invalid value for '--min-agreement'"),
    (["parity", "--max-drop", "inf"], "Invalid value for '--max-drop'"),
    (["parity", "--runtime", "onnxruntime"], "unknown runtime 'onnxruntime'"),
    (["parity", "--runtime", "tensorflow-nope"], "unknown runtime 'tensorflow-nope'"),
    (["parity", "--models-dir", "/nonexistent"], "'--models-dir': dir '/nonexistent' does not exist"),
    (["bench", "--repeats", "5"], "Invalid value for '--repeats'"),
    (["convert", "/nonexistent.keras"], "'/nonexistent.keras' does not exist"),
    (["convert", "models/lstm.keras", "--quant", "int4"], "'--quant' / '-q': unknown mode int4"),
    (["convert", "models/lstm.keras", "--form", "int8=zigzag"], "'--form': takes MODE=FORM"),
    (["convert", "models/lstm.keras", "--prefer", "beauty"], "Invalid value for '--prefer'"),
    (["convert", "models/lstm.keras", "--calibration-samples", "0"], "'--calibration-samples'"),
]


@pytest.mark.parametrize("args, message", USAGE_ERRORS,
                         ids=lambda v: " ".join(v) if isinstance(v, list) else None)
def test_usage_errors_are_one_line(args, message, monkeypatch):
    monkeypatch.chdir(ROOT)
    done = cli(*args)
    lines = done.stderr.splitlines()
    assert done.exit_code == 2 and done.stdout == "", done.stdout
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], done.stderr


def test_a_domain_error_is_one_line():
    done = cli("infer")
    message = "error: give image paths, --video FILE or --camera INDEX (exactly one)\n"
    assert (done.exit_code, done.stderr) == (2, message)


def test_parity_table_piped_is_plain_narrow_and_signed():
    done = cli("parity", "--limit", "300")
    assert done.exit_code == 0, done.stderr
    lines = done.stdout.splitlines()
    assert all(len(line) <= 100 for line in lines), done.stdout
    assert not set(done.stdout) & set("─━│┃╭╮╰╯┏┓┗┛")
    header = next(line for line in lines if line.startswith("model"))
    assert header.split()[:9] == ["model", "runtime", "acc", "%", "acc", "Δ", "pp", "agree", "%"]
    assert "model − Keras" in done.stdout and "negative: worse" in done.stdout


def test_parity_shows_a_lower_accuracy_as_a_negative_change():
    """The JSON's drop_pp is Keras − model; the table shows model − Keras: the same number, negated."""
    done = cli("parity", "--limit", "500", "--json")
    (result,) = json.loads(done.stdout)
    from edge_lstm.parity import Metrics
    from edge_lstm.report import _row
    from edge_lstm.verify import Result

    worse = Result(result["model"], result["runtime"], result["size_bytes"],
                   metrics=Metrics(**{**result["metrics"], "accuracy": 9.82, "drop_pp": 88.77}))
    assert _row(worse)[3] == "-88.77"


def test_bench_and_parity_share_the_units_and_the_renderer():
    row = {"model": manifest.load(manifest.models_dir())["recommended"], "runtime": "ai-edge-litert 2.3.0",
           "size_bytes": 68_300, "p50_us": 15.2, "p95_us": 20.1}
    text = bench.table([row])
    assert "size KB" in text and "p50 µs" in text and "66.7" in text
    assert all(len(line) <= 100 for line in text.splitlines())


def test_tables_never_cut_a_cell():
    from edge_lstm import tables

    name = "a_model_with_a_very_long_name_from_a_staging_folder.unrolled.tflite"
    text = tables.render(["model", "runtime", "agree %", "max Δp"],
                         [[name, "tflite-runtime 2.14.0", "100.00", "0.987654"]] * 2, left=2)
    assert "…" not in text and name in text and "100.00" in text and "0.987654" in text
