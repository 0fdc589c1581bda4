# Wirewatch: `make run` (quickstart, needs only Python) and `make test` (everything).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
KAFKA := deploy/kafka/local.sh

.PHONY: run test venv system-deps lint unit integration kafka-start kafka-stop bench \
	classifier-model clean

$(BIN)/wirewatch: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

venv: $(BIN)/wirewatch

run: venv
	$(BIN)/wirewatch run --demo

# Debian packages the tests need (prometheus/promtool, docker-compose for `config`).
system-deps:
	@missing=$$(for p in $$(grep -v '^#' deploy/apt-packages.txt); do \
	    dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	    echo "installing Debian packages: $$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

lint: venv
	$(BIN)/ruff check .

unit: venv
	$(BIN)/pytest -q tests/unit

kafka-start:
	$(KAFKA) start

kafka-stop:
	$(KAFKA) stop

# The whole suite against a real Apache Kafka broker, started and stopped here.
test: venv system-deps lint
	$(KAFKA) fetch
	@set -e; trap '$(KAFKA) stop' EXIT; $(KAFKA) start; \
	$(BIN)/pytest -q -p no:cacheprovider --durations=15 tests

bench: venv
	$(BIN)/python bench/classify_speed.py
	$(BIN)/python bench/classify_eval.py

# After editing agents/classify/data: train the topic model and save it beside the data.
classifier-model: venv
	$(BIN)/python -m agents.classify.train

clean:
	rm -rf $(VENV) .cache build *.egg-info
