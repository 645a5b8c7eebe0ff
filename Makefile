# bmcd: Turing Pi board-management daemon and its CLI.
#
#   make run     build and start bmcd on the simulated board
#   make test    install what the tests need, lint, run every test
#   make bench-soak  the long soak runs that make test leaves out
#   make bench-arm   instructions per byte of each flash stage on the armv7 build (qemu-arm)
#   make cross   static binaries for linux/arm (GOARM=7) and linux/arm64

SHELL   := /bin/bash
GO      ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)
BIN     := bin
DIST    := dist
GOBIN   := $(shell $(GO) env GOPATH)/bin
STATICCHECK_VERSION := v0.8.2
RUN_DIR := .run
RUN_LISTEN ?= 127.0.0.1:8080

.PHONY: all build web run run-state test deps lint unit test-e2e cross bench bench-api bench-arm bench-console bench-cluster bench-flash bench-soak bench-daemon bench-mem bench-xz bench-web reset-password clean

all: build

build: web
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/bmcd ./cmd/bmcd
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/bmcctl ./cmd/bmcctl

run: build run-state
	@echo "bmcd $(VERSION) on the simulated board; state in $(RUN_DIR)/state"
	@echo
	@echo "In another shell:"
	@echo "  export PATH=\"$(CURDIR)/$(BIN):\$$PATH\" BMC_HOST=http://$(RUN_LISTEN)"
	@echo "  bmcctl login                 # user admin, the password bmcd prints below on its first start"
	@echo "  bmcctl power on 3"
	@echo "  bmcctl power status"
	@echo "  bmcctl slots"
	@echo "  bmcctl events                # live power changes and flash progress"
	@echo "  bmcctl console 3             # node 3's serial console (Ctrl-] q detaches)"
	@echo "  bmcctl flash --slot 1 IMAGE  # raw/gz/xz/zst/bz2; slot 1's eMMC is $(RUN_DIR)/state/sim-emmc-slot1.img"
	@echo "  bmcctl flash --slot 2 IMAGE --hostname node2 --ssh-key ~/.ssh/id_ed25519.pub"
	@echo "  bmcctl power on 2; bmcctl node known-hosts 2 >> ~/.ssh/known_hosts"
	@echo "  ssh -p 2202 pi@127.0.1.2     # a prepared Raspberry Pi OS image boots ready for SSH"
	@echo "  # a k3s cluster on the prepared slots (the nodes' k3s and its API are simulated):"
	@echo "  for s in 1 2 3 4; do bmcctl flash --slot \$$s IMAGE --hostname node\$$s --ssh-key ~/.ssh/id_ed25519.pub --power-on; done"
	@echo "  bmcctl cluster up --servers 1 --agents 2-4"
	@echo "  bmcctl cluster kubeconfig > kc && kubectl --kubeconfig kc get nodes"
	@echo "  bmcctl board check           # what bmcd finds on the board"
	@echo "The web page: open http://$(RUN_LISTEN)/ and log in as admin (from a phone: make run RUN_LISTEN=0.0.0.0:8080)."
	@echo "Forgot the password? make reset-password, then make run again."
	@echo
	exec $(BIN)/bmcd --board sim --listen $(RUN_LISTEN) --state-dir $(RUN_DIR)/state

# web: xterm.js for the web page's console, from npm (api/web/package.json
# pins it, package-lock.json locks it), copied into the embedded static/vendor
# (not committed). npm ci runs only when the lock file is newer than the
# last install. Without npm, bmcd builds all the same and its console
# page says that xterm.js is missing.
WEB        := api/web
WEB_VENDOR := $(WEB)/static/vendor
WEB_FILES  := $(WEB_VENDOR)/xterm.mjs $(WEB_VENDOR)/addon-fit.mjs $(WEB_VENDOR)/xterm.css

web: $(WEB_FILES)

$(WEB)/node_modules/.package-lock.json: $(WEB)/package.json $(WEB)/package-lock.json
	@if command -v npm >/dev/null; then \
	  cd $(WEB) && npm ci --no-audit --no-fund --loglevel=error; \
	else \
	  echo "npm not found: the web page's console will lack xterm.js (apt-get install npm)" >&2; \
	fi

# The source-map comments go: the maps are not shipped.
$(WEB_FILES) &: $(WEB)/node_modules/.package-lock.json
	@if [ -d $(WEB)/node_modules/@xterm ]; then \
	  mkdir -p $(WEB_VENDOR) && \
	  sed '/^\/\/# sourceMappingURL=/d' $(WEB)/node_modules/@xterm/xterm/lib/xterm.mjs > $(WEB_VENDOR)/xterm.mjs && \
	  sed '/^\/\/# sourceMappingURL=/d' $(WEB)/node_modules/@xterm/addon-fit/lib/addon-fit.mjs > $(WEB_VENDOR)/addon-fit.mjs && \
	  cp $(WEB)/node_modules/@xterm/xterm/css/xterm.css $(WEB_VENDOR)/xterm.css; \
	fi

# run-state: bmcd's state dir, private to the user like bmcd makes its own
# (a directory made by an older make run is tightened too).
run-state:
	@mkdir -p $(RUN_DIR)
	@mkdir -p -m 0700 $(RUN_DIR)/state
	@chmod 0700 $(RUN_DIR)/state

reset-password:
	rm -f $(RUN_DIR)/state/auth.json $(RUN_DIR)/state/sessions.json

# test: everything CI runs. .ci/run calls this.
test: deps web lint unit test-e2e

deps:
	@bash .ci/deps.sh
	@test -x $(GOBIN)/staticcheck || $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GOBIN)/staticcheck ./...
	$(GO) mod tidy -diff

# unit: every test but the end-to-end ones, which test-e2e runs once.
E2E := ^TestEndToEnd
unit:
	$(GO) test -race -count=1 -skip '$(E2E)' ./...

# test-e2e: the real bmcd and bmcctl binaries over loopback, all at once:
# they mostly wait on the daemons, the simulated boards and Chromium.
test-e2e:
	$(GO) test -race -count=1 -parallel 16 -run '$(E2E)' ./cmd/bmcctl/

cross:
	@mkdir -p $(DIST)
	for target in arm:7 arm64:; do \
	  arch=$${target%%:*}; arm=$${target##*:}; \
	  for cmd in bmcd bmcctl; do \
	    out=$(DIST)/$$cmd-linux-$$arch$${arm:+v$$arm}; \
	    CGO_ENABLED=0 GOOS=linux GOARCH=$$arch GOARM=$$arm \
	      $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $$out ./cmd/$$cmd || exit 1; \
	  done; \
	done
	@ls -l $(DIST)
	@file $(DIST)/* 2>/dev/null || true

bench: bench-api bench-console bench-web

# bench-web: the web page's first load on a phone (empty cache) against
# the simulated board, in headless Chromium: time, bytes over the wire,
# and the whole page's gzip size.
bench-web: web
	$(GO) test -run '^$$' -bench BenchmarkWebFirstLoad -benchtime 10x ./cmd/bmcctl/

# bench-flash: our flasher against dd, bmaptool, xz|dd, zstd|dd and, with
# verify on, dd plus an O_DIRECT read-back compared with cmp, on loop
# devices backed by tmpfs and by disk (root): wall time of every whole
# command, page cache dropped before each, ratios printed; then bmcd's
# peak RSS while a 2 GiB image streams in over HTTP and is flashed.
bench-flash:
	bash flasher/bench/bench-flash.sh
	bash flasher/bench/bench-bmcd-rss.sh

# bench-arm: instructions per image byte of each flash stage, counted
# for the armv7 build under qemu-arm, the pipeline's per-core critical
# path and the throughput it implies on the controller's Cortex-A7
# (flasher/bench/armcount). Deterministic: the same numbers every run.
bench-arm:
	$(GO) run ./flasher/bench/armcount

# bench-console: serial console throughput per port with 1/10/100 clients
# (package and WebSocket) and keystroke-to-echo latency on loopback.
bench-console:
	$(GO) test -run '^$$' -bench . -benchtime 3s ./bmc/console/
	$(GO) test -run '^$$' -bench BenchmarkConsole -benchmem ./api/
	$(GO) test -run TestConsoleLatencyReport -v -count=1 ./api/ -latency-report

# bench-api: power round trip through the HTTP API on the simulated board.
bench-api:
	$(GO) test -run '^$$' -bench BenchmarkPowerRoundTrip -benchmem ./api/
	$(GO) test -run TestPowerLatencyReport -v -count=1 ./api/ -latency-report

# bench-daemon: the power round trip through the real bmcd binary, p99
# idle and while a flash runs, side by side; fsyncs per 1,000 requests.
bench-daemon:
	$(GO) test -run '^$$' -bench BenchmarkDaemonPowerRoundTrip -benchtime 1x -timeout 30m -v ./cmd/bmcctl/

# bench-mem: the real bmcd's peak RSS with 16 API clients while a 2 GiB
# image streams in, then 20 flashes of every format and prepared ones:
# peak RSS and time back to idle + 4 MiB after each.
bench-mem:
	$(GO) test -run '^$$' -bench BenchmarkDaemonMemory -benchtime 1x -timeout 90m -v ./cmd/bmcctl/

# bench-xz: flasher's xz path against xz -dc | dd on one machine, one run.
bench-xz:
	bash flasher/bench/bench-xz.sh

# bench-cluster: k3s bootstrap on 4 and 7 simulated nodes over SSH with a
# modelled start-up time, bmcd's join order against one node at a time.
bench-cluster:
	$(GO) test -run '^$$' -bench BenchmarkBootstrap -count 3 ./bmc/cluster/

# bench-soak: twenty flashes in a row through one bmcd, which must hold no
# more memory, file descriptors or threads after the last than after the
# fifth.
bench-soak:
	$(GO) test -count=1 -v -run '^TestEndToEndTwentyFlashes$$' ./cmd/bmcctl/ -soak

clean:
	rm -rf $(BIN) $(DIST)
