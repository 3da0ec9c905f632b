# TemporalKD — see README.md.
#
#   make demo    installs what it needs, then runs the whole pipeline (tkd demo) on the espeak-ng demo corpus and
#                on the FSD50K stand-in (tkd demo --kind fsd50k)
#   make test    installs what it needs, then builds and runs every test
#   make lint    the formatter's check (.swift-format) and the 120-column limit
#   make study   installs what it needs, then runs the quick study (tkd study, Recipes/study/quick.yaml; < 1 h)
#   make study-standard   the committed study (Recipes/study/standard.yaml, ledger Recipes/study/cells; ≈ 2.7 h)
#
# Variables: DEMO_DIR (default demo), STUDY_DIR (default study-<preset>), JOBS (default 2), SWIFT (default swift),
# REAL_CORPUS (the real-speech slice of make study-standard; default ../shared/real/speech-commands-v2-test-dev).

SWIFT    ?= swift
DEMO_DIR ?= demo
STUDY_DIR ?=
JOBS     ?= 2
TKD      := .build/release/tkd
# The real Speech Commands slice the committed study scores every cell on (never trains or tunes on).
REAL_CORPUS ?= ../shared/real/speech-commands-v2-test-dev

# Debian packages: the four C libraries (+ pkg-config to find them), the text-to-speech engines and voices of
# the demo and study corpora (espeak-ng; flite; festival with two diphone voices and an HTS voice), sox for
# audio inspection, gzip for the compressed test fixtures, time for the benchmarks' peak memory.
APT_PACKAGES := pkg-config libsndfile1-dev libsamplerate0-dev libfftw3-dev libopenblas-dev \
                espeak-ng flite festival festvox-kallpc16k festvox-kdlpc16k festvox-us-slt-hts \
                sox gzip time

.PHONY: deps build test lint demo study study-standard bench-generate bench-train bench-infer reference-env clean

## deps: install the Debian packages that are missing (apt-get; sudo when not root)
deps:
	@missing=""; for p in $(APT_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "make deps: installing$$missing"; \
	  if [ "$$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi; \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing; \
	fi

## build: the tkd executable, optimised
build: deps
	$(SWIFT) build -c release --product tkd

## test: every test (Swift Testing), debug build
test: deps
	$(SWIFT) build --build-tests
	$(SWIFT) test

## lint: swift format in lint mode with .swift-format, and no Swift line over 120 characters (Scripts/lint.sh)
lint:
	Scripts/lint.sh

## demo: the whole pipeline on the espeak-ng demo corpus in $(DEMO_DIR)/ (Table 2 style), then on the FSD50K
## stand-in in $(DEMO_DIR)/fsd50k/ (Table 1 style) (tkd demo, tkd demo --kind fsd50k; ≈ 15 min on 2 cores)
demo: build
	$(TKD) demo --out $(DEMO_DIR) --jobs $(JOBS)
	$(TKD) demo --kind fsd50k --out $(DEMO_DIR)/fsd50k --jobs $(JOBS)

## study: the quick study (≤ 60 min on 2 cores, teacher included; 38 min measured) in $(STUDY_DIR) (default study-quick/)
study: build
	$(TKD) study --recipe Recipes/study/quick.yaml --out $(or $(STUDY_DIR),study-quick) --jobs $(JOBS)

## study-standard: the committed study; resumes from and adds to the ledger Recipes/study/cells/
study-standard: build
	$(TKD) study --recipe Recipes/study/standard.yaml --out $(or $(STUDY_DIR),study-standard) \
	  --ledger Recipes/study/cells --real-corpus $(REAL_CORPUS) --jobs $(JOBS)

## bench-generate: tkd generate against the Python peer (needs reference-env); see BENCHMARKS.md
bench-generate: build reference-env
	Benchmarks/generate.sh

## bench-train: tkd's training steps against PyTorch (needs reference-env); see BENCHMARKS.md
bench-train: build reference-env
	Benchmarks/train.sh

## bench-infer: every student's inference per window against ONNX Runtime (float32, int8), and tkd detect's
## throughput and memory (needs reference-env); see BENCHMARKS.md
bench-infer: build reference-env
	Benchmarks/infer.sh

## reference-env: the Python virtualenv with the peer libraries (fixture generators, benchmarks)
reference-env:
	Scripts/reference/setup-env.sh

clean:
	rm -rf .build $(DEMO_DIR) study-quick study-standard
