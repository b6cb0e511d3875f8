# Two commands do all the set-up:
#   make demo   device install, then parity + inference with the shipped default model
#   make test   full install (TensorFlow, tflite-runtime 2.14 env), then the test suite
PYTHON ?= python3
VENV := .venv
TFLITE_ENV := .venv-tflite
ARM64_DIR := .arm64
PIP := $(VENV)/bin/python -m pip install -q --disable-pip-version-check

.PHONY: demo test device-env full-env tflite-env arm64-parity bench cli-docs clean

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)

device-env: $(VENV)/bin/python
	$(PIP) -e .

full-env: $(VENV)/bin/python
	$(PIP) -e '.[train,peer,test]'

tflite-env:
	bash .ci/tflite-runtime-env.sh $(TFLITE_ENV)

demo: device-env
	$(VENV)/bin/edge-lstm parity
	$(VENV)/bin/edge-lstm infer docs/samples

test: full-env tflite-env
	EDGE_LSTM_TFLITE_RUNTIME_PYTHON=$(CURDIR)/$(TFLITE_ENV)/bin/python $(VENV)/bin/python -m pytest -q

# The shipped models' device parity check on an emulated aarch64 (Raspberry Pi-class) CPU.
arm64-parity:
	bash .ci/arm64-parity.sh $(ARM64_DIR)

bench: device-env
	$(VENV)/bin/edge-lstm bench

clean:
	rm -rf $(VENV) $(TFLITE_ENV) $(ARM64_DIR) .pytest_cache

# Regenerate the CLI reference from the commands' own help.
cli-docs: device-env
	$(VENV)/bin/typer edge_lstm.cli utils docs --name edge-lstm --title "edge-lstm command reference" --output docs/cli.md
	$(VENV)/bin/python -c "import html, pathlib; p = pathlib.Path('docs/cli.md'); p.write_text(html.unescape(p.read_text()))"
