# tsrunc build. `make` builds everything; `make test` runs the whole suite as root.
SHELL := /bin/bash
NODE_BIN := $(CURDIR)/node_modules/node/bin/node
NPMBIN := $(CURDIR)/node_modules/.bin
PREFIX ?= /usr/local
CC ?= cc
SCHEMAS := $(wildcard schemas/*.json)
SRC := $(shell find src -name '*.ts' -not -path 'src/generated/*' 2>/dev/null)

.PHONY: all build typecheck test unit integration conformance bench demo install clean e2e deps

all: build

build: bin/tsrunc

node_modules/.installed: package.json package-lock.json
	@if [ ! -x $(NODE_BIN) ]; then npm ci --no-audit --no-fund --ignore-scripts=false; fi
	@touch $@

src/generated/.stamp: $(SCHEMAS) scripts/gen-schemas.mjs node_modules/.installed
	$(NODE_BIN) scripts/gen-schemas.mjs
	@touch $@

dist/tsrunc-nsexec: native/nsexec.c
	@mkdir -p dist
	$(CC) -O2 -Wall -Wextra -Werror -static -o $@ $<

dist/koffi.node: node_modules/.installed
	@mkdir -p dist
	cp node_modules/koffi/build/koffi/linux_x64/koffi.node $@

dist/.bundle: src/generated/.stamp $(SRC) scripts/build.mjs
	$(NODE_BIN) scripts/build.mjs
	@touch $@

typecheck: src/generated/.stamp
	$(NODE_BIN) $(NPMBIN)/tsc -p tsconfig.json

# The launcher is CommonJS (bin/package.json says so: the repo's package.json
# says "module"). It turns on V8's compile cache before the bundle is parsed:
# that is a third of the start-up time. The cache lives in a root-owned
# directory: a cache in a world-writable one could run code as root.
bin/tsrunc: dist/.bundle dist/tsrunc-nsexec dist/koffi.node
	@mkdir -p bin
	@printf '{"type":"commonjs"}\n' > bin/package.json
	@$(NODE_BIN) -e 'const [n,c,b]=process.argv.slice(1);require("fs").writeFileSync(process.argv[4]+".tmp",`#!$${n}\ntry { require("node:module").enableCompileCache($${JSON.stringify(c)}); } catch {}\nrequire($${JSON.stringify(b)});\n`,{mode:0o755})' "$(NODE_BIN)" "$(CURDIR)/dist/.compile-cache" "$(CURDIR)/dist/tsrunc.cjs" $@
	@mv $@.tmp $@
	@$(MAKE) --no-print-directory warm-init CACHE=$(CURDIR)/dist/.compile-cache INIT=$(CURDIR)/dist/init.cjs
	@echo "built bin/tsrunc"

# Node-init never exits through Node (it execs the container's program), so
# it never writes its compile cache: write it here, from a run of init.cjs
# without a sync socket, which fails at once (exit 1) after loading. The key
# is init.cjs's path, so it is done again for the installed copy.
.PHONY: warm-init
warm-init:
	@mkdir -p -m 700 $(CACHE)
	@NODE_COMPILE_CACHE=$(CACHE) $(NODE_BIN) $(INIT) </dev/null >/dev/null 2>&1 || true

# Everything a test run needs, installed on a fresh Debian machine.
deps:
	@bash scripts/install-deps.sh

test: deps build typecheck
	$(NODE_BIN) $(NPMBIN)/tap

# Only *.test.ts: tap given a directory would also run conformance/lib and report.mjs.
conformance: build
	RUNTIME=$${RUNTIME:-$(CURDIR)/bin/tsrunc} $(NODE_BIN) $(NPMBIN)/tap $$(find conformance -name '*.test.ts' | sort)

bench: deps build
	$(NODE_BIN) bench/run.mjs

# containerd (ctr + runc v2 shim) and podman (conmon) drive the runtime end to
# end. RUNTIME=runc make e2e runs the same scenarios against runc.
e2e: deps build
	@bash scripts/install-deps.sh e2e
	RUNTIME=$${RUNTIME:-$(CURDIR)/bin/tsrunc} $(NODE_BIN) $(NPMBIN)/tap $$(find e2e -name '*.test.ts' | sort)

demo: deps build
	bash scripts/demo.sh

install: build
	install -d $(DESTDIR)$(PREFIX)/lib/tsrunc $(DESTDIR)$(PREFIX)/bin
	install -m 755 $(NODE_BIN) $(DESTDIR)$(PREFIX)/lib/tsrunc/node
	cp -a dist/. $(DESTDIR)$(PREFIX)/lib/tsrunc/
	install -d $(DESTDIR)$(PREFIX)/lib/tsrunc/bin
	@printf '{"type":"commonjs"}\n' > $(DESTDIR)$(PREFIX)/lib/tsrunc/package.json
	@$(NODE_BIN) -e 'const [n,c,b,o]=process.argv.slice(1);require("fs").writeFileSync(o,`#!$${n}\ntry { require("node:module").enableCompileCache($${JSON.stringify(c)}); } catch {}\nrequire($${JSON.stringify(b)});\n`,{mode:0o755})' "$(PREFIX)/lib/tsrunc/node" "$(PREFIX)/lib/tsrunc/.compile-cache" "$(PREFIX)/lib/tsrunc/tsrunc.cjs" $(DESTDIR)$(PREFIX)/lib/tsrunc/bin/tsrunc
	ln -sf ../lib/tsrunc/bin/tsrunc $(DESTDIR)$(PREFIX)/bin/tsrunc
	@if [ -z "$(DESTDIR)" ]; then $(MAKE) --no-print-directory warm-init NODE_BIN=$(PREFIX)/lib/tsrunc/node CACHE=$(PREFIX)/lib/tsrunc/.compile-cache INIT=$(PREFIX)/lib/tsrunc/init.cjs; fi

clean:
	rm -rf dist bin/tsrunc src/generated
