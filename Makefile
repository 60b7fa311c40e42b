# crmflow developer entry points. `make test` and `make run` set everything up on a fresh machine.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: help install test lint run simulate bench schema golden package deploy clean canvas canvas-check

help:  ## list the targets
	@grep -E '^[a-z]+:.*##' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,editor]'
	touch $(STAMP)

install: $(STAMP)  ## create .venv and install crmflow with its dev tools

test: $(STAMP)  ## run lint and the whole test suite
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -n 2 -q

lint: $(STAMP)  ## ruff
	$(BIN)/ruff check .

run: $(STAMP)  ## the local stack: API :8000, moto :5050, editor :8501; data in .crmflow/ (RUN_ARGS="--reset")
	$(BIN)/crmflow validate --strict flows/templates/*.flow.json
	$(BIN)/crmflow compile flows/templates/*.flow.json -o build/asl
	$(BIN)/crmflow up $(RUN_ARGS)

simulate: $(STAMP)  ## every path of every template on the local interpreter, with stand-in steps
	$(BIN)/crmflow simulate --all-paths flows/templates/*.flow.json

bench: $(STAMP)  ## benchmarks: compile; drip and webhook on the local stack (quick sizes); editor rerun; canvas render; contact search
	$(BIN)/python bench/compile_bench.py
	$(BIN)/python bench/drip_bench.py --quick
	$(BIN)/python bench/webhook_bench.py --quick
	$(BIN)/python bench/editor_bench.py
	$(BIN)/python bench/canvas_bench.py
	$(BIN)/python bench/contact_search_bench.py --contacts 10000

package: $(STAMP)  ## the AWS deployment in dist/: SAM template and zip (STAGE=dev)
	$(BIN)/crmflow package --stage $(or $(STAGE),dev)

deploy: $(STAMP)  ## deploy to AWS with your credentials (STAGE=dev ARGS="--sender acme.com --profile p")
	$(BIN)/crmflow deploy --stage $(or $(STAGE),dev) $(ARGS)

schema: $(STAMP)  ## regenerate the checked-in flow JSON Schema, node reference and OpenAPI
	$(BIN)/crmflow schema -o flows/schema/flow.schema.json
	$(BIN)/crmflow docs -o docs/nodes.md
	$(BIN)/crmflow openapi -o docs/openapi.json
	$(BIN)/python -m infra.aws.costs

golden: $(STAMP)  ## regenerate golden ASL for the templates (review the diff!)
	$(BIN)/python -m infra.golden

# The flow canvas's browser bundle is built from editor/flow_canvas/frontend/ and checked in
# (editor/flow_canvas/static/), so installing crmflow needs no Node; CI checks it is current.
CANVAS_SRC    := editor/flow_canvas/frontend
CANVAS_STATIC := editor/flow_canvas/static

canvas:  ## rebuild the flow canvas bundle (Node 20+, npm)
	cd $(CANVAS_SRC) && npm ci --no-audit --no-fund && npm run build

canvas-check:  ## fail when the checked-in canvas bundle is not what its sources build
	@set -e; tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	mkdir "$$tmp/frontend"; \
	(cd $(CANVAS_SRC) && tar --exclude=./node_modules -cf - .) | (cd "$$tmp/frontend" && tar -xf -); \
	(cd "$$tmp/frontend" && npm ci --no-audit --no-fund --loglevel=error >/dev/null && \
	    npx tsc --noEmit && npx vite build --outDir "$$tmp/static" --emptyOutDir --logLevel warn); \
	if ! diff -r "$$tmp/static" $(CANVAS_STATIC) >/dev/null; then \
	    echo "canvas-check: $(CANVAS_STATIC)/ is not what $(CANVAS_SRC)/ builds; run \`make canvas\` and commit the result" >&2; \
	    exit 1; \
	fi; \
	echo "canvas-check: the checked-in canvas bundle is up to date"

clean:  ## remove the virtualenv and build output
	rm -rf $(VENV) build .pytest_cache
