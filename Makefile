# jsbox: the targets a developer and CI use. `make help` lists them.
SHELL := /bin/bash
GUEST_WASM := host/src/jsbox_guest.wasm
GUEST_CHECK_OUT := target/guest-check/jsbox_guest.wasm

.PHONY: help build test lint package-check guest guest-check toolchain bench bench-quick bench-peers soak fuzz distributed run-example doc clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | column -t -s $$'\t'

build: ## build the host library and CLI (stable Rust only)
	cargo build --release

test: guest-check ## rebuild the guest byte-for-byte, install the reference tools, run every test and doctest
	scripts/test-tools.sh
	cargo test --workspace --all-targets
	cargo test --workspace --doc

lint: ## clippy and rustdoc with warnings denied, jsbox without default features, the MSRV
	cargo clippy --workspace --all-targets -- -D warnings
	RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps
	cargo check -p jsbox --no-default-features
	scripts/check-msrv.sh

package-check: ## package every publishable crate, build it alone, run the README example against it
	scripts/package-check.sh

toolchain: ## install the guest toolchain from Debian's packages if missing
	scripts/guest-toolchain.sh install

guest: ## rebuild host/src/jsbox_guest.wasm from guest/ and wit/
	scripts/build-guest.sh $(GUEST_WASM)

guest-check: ## rebuild the guest from scratch and fail unless it matches the committed file
	scripts/build-guest.sh $(GUEST_CHECK_OUT) --clean
	@if cmp -s $(GUEST_CHECK_OUT) $(GUEST_WASM); then \
		echo "guest-check: $(GUEST_WASM) is the byte-identical product of its source ($$(sha256sum < $(GUEST_WASM) | cut -c1-16))"; \
	else \
		echo "guest-check: $(GUEST_WASM) differs from a rebuild of guest/ (run 'make guest' and commit)"; \
		sha256sum $(GUEST_CHECK_OUT) $(GUEST_WASM); exit 1; \
	fi

# The CLI and the bench crate are always built together: built apart, cargo
# unifies their dependencies' features differently and compiles wasmtime twice.
BENCH_PKGS := -p jsbox-cli -p jsbox-bench
BENCH_BIN := $${CARGO_TARGET_DIR:-target}/release

# RisingWave's arrow-udf-js on the sql_transform rows: its own workspace
# and lockfile (Arrow 54, rquickjs 0.6), built into its own target dir.
ARROW_UDF_JS := cargo run --release --manifest-path benches/peers/arrow-udf-js/Cargo.toml \
	--target-dir $${CARGO_TARGET_DIR:-target}/peer-arrow-udf-js -- $${CARGO_TARGET_DIR:-target}/bench-arrow-udf-js.json

bench: ## run every criterion benchmark and the peers, write target/bench-report.{md,json}
	cargo build --release $(BENCH_PKGS) --bins
	cargo bench $(BENCH_PKGS) --bench jsbox
	scripts/bench-peers.sh
	$(ARROW_UDF_JS)
	$(BENCH_BIN)/bench_report

bench-quick: ## a short benchmark run (fewer samples)
	cargo build --release $(BENCH_PKGS) --bins
	JSBOX_BENCH_QUICK=1 cargo bench $(BENCH_PKGS) --bench jsbox
	JSBOX_BENCH_QUICK=1 scripts/bench-peers.sh
	JSBOX_PEER_RUNS=3 $(ARROW_UDF_JS)
	JSBOX_BENCH_QUICK=1 $(BENCH_BIN)/bench_report

bench-peers: ## time quickjs-emscripten and node:vm (npm ci from benches/peers' lockfile) into target/bench-peers.json
	scripts/bench-peers.sh

soak: ## one million spawn/eval/drop cycles over two threads, RSS reported
	cargo build --release $(BENCH_PKGS) --bins
	$(BENCH_BIN)/soak

distributed: ## a JS UDF on Ballista (scheduler + 2 executors on 127.0.0.1) vs one process vs batch (JSBOX_DISTRIBUTED_ROWS, default 1000000)
	scripts/distributed.sh

fuzz: ## run the cargo-fuzz targets for a bounded time each
	scripts/fuzz.sh

doc: ## build the API docs
	RUSTDOCFLAGS="-D warnings" cargo doc --no-deps -p jsbox

clean: ## remove build output
	cargo clean
