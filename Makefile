# Two commands on a fresh machine: `make run` (the app) and `make test` (the test suite).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
# torch first and pinned: 2.13.0 is on local disk here as a CPU wheel; an unpinned torch pulls a
# CUDA build of several GB. The project's range (>=2.3,<3) then accepts what is installed.
TORCH ?= torch==2.13.0

.PHONY: run test test-ray lint format bench clean package package-test

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet "$(TORCH)"
	$(PY) -m pip install --quiet -e ".[gui,dev]"
	touch $(STAMP)

# check_qt_deps.py: on Linux with a display, the system libraries Qt's xcb plugin needs, and the
# one install command when some are missing (instead of Qt's abort).
run: $(STAMP)
	$(PY) scripts/check_qt_deps.py
	$(PY) main.py

test: $(STAMP)
	$(PY) -m ruff check .
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q

# Ray is heavy (~250 MB installed), so its test is not part of `make test` (it skips there).
test-ray: $(STAMP)
	$(PY) -m pip install --quiet -e ".[ray]"
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q tests/test_batch_ray.py

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

format: $(STAMP)
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

bench: $(STAMP)
	$(PY) -m bench

# Standalone installers (packaging/README.md). `make package`: the Linux CPU bundle
# dist/cpu/UltraIS/ and dist/UltraIS-<version>-linux-<arch>-cpu.tar.gz, with the weights from
# resources/weights; it runs them with ONNX Runtime (the [onnx] extra), not torch. `make package-test`: builds one with random weights under
# build/package-test/ and runs its --self-test with no Python on PATH (about 5 minutes).
package: $(STAMP)
	$(PY) -m pip install --quiet -e ".[package,onnx]"
	$(PY) packaging/build.py --variant cpu

package-test: $(STAMP)
	$(PY) -m pip install --quiet -e ".[package,onnx]"
	ULTRAIS_PACKAGE_TEST=1 QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q -s -rA tests/test_packaging.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache build dist *.egg-info
