# The enclave image: what nitro-cli measures into PCR0. Reproducible: the bases
# are pinned by digest, the C compiler comes from a dated Debian snapshot,
# node-vsock is built from source at a pinned commit, dependencies come from the
# lock file only, and the image's file tree is made by one script
# (scripts/enclave-image-tree.mjs: the proto and enclave workspaces' JavaScript,
# our NSM binding compiled from enclave/native/nsm.c, the production packages
# pruned, every file time 0) that test/contract/enclave-image.test.ts runs and
# checks against an allow-list without Docker. It runs the enclave in nitro
# mode on vsock and needs no network at run time (KMS and the guard table are
# reached through vsock-proxy).
#
# Build: nitro/build-enclave.sh (docker build, then nitro-cli build-enclave).
# To move to a newer Node LTS, replace the digest with the one of
# `docker buildx imagetools inspect node:24-bookworm-slim` and publish the new PCRs.

ARG NODE_IMAGE=node:24-bookworm-slim@sha256:d6aa754f16b3197301076f047b5def2f02ea1dbbc2ca920407d46d7ec7f87b20
ARG RUST_IMAGE=rust:1.83-slim-bookworm@sha256:540c902e99c384163b688bbd8b5b8520e94e7731b27f7bd0eaa56ae1960627ab

# node-vsock (the host ⇄ enclave transport's native part), from source: its npm
# package is a prebuilt binary. Pinned by commit (git checks the id against the
# content). Its crate versions are pinned once nitro/node-vsock/Cargo.lock is
# committed (see nitro/node-vsock/README.md); until then cargo resolves them.
FROM ${RUST_IMAGE} AS vsock
ARG NODE_VSOCK_REPO=https://github.com/wei-rong-1/node-vsock.git
ARG NODE_VSOCK_COMMIT=0d6faa637e940af9f54982a8653b2c6be1bd007f
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends git ca-certificates >/dev/null && rm -rf /var/lib/apt/lists/*
WORKDIR /src
RUN git init -q . && git fetch -q --depth 1 "${NODE_VSOCK_REPO}" "${NODE_VSOCK_COMMIT}" && git checkout -q --detach FETCH_HEAD \
 && test "$(git rev-parse HEAD)" = "${NODE_VSOCK_COMMIT}"
COPY nitro/node-vsock/ /pinned/
RUN locked=""; if [ -f /pinned/Cargo.lock ]; then cp /pinned/Cargo.lock . && locked=--locked; fi \
 && RUSTFLAGS="--remap-path-prefix=/src=. --remap-path-prefix=${CARGO_HOME}=/cargo" cargo build --release ${locked} \
 && sha256sum Cargo.lock \
 && cp target/release/libnode_vsock.so /node-vsock.linux-x64-gnu.node && strip /node-vsock.linux-x64-gnu.node

FROM ${NODE_IMAGE} AS build
# A C compiler for the NSM binding, from a dated snapshot of Debian (the same commit, the same compiler).
ARG DEBIAN_SNAPSHOT=20261201T000000Z
RUN printf 'Types: deb\nURIs: http://snapshot.debian.org/archive/debian/%s\nSuites: bookworm bookworm-updates\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' "${DEBIAN_SNAPSHOT}" \
      > /etc/apt/sources.list.d/debian.sources \
 && apt-get -o Acquire::Check-Valid-Until=false update -qq \
 && apt-get install -y -qq --no-install-recommends gcc libc6-dev >/dev/null && rm -rf /var/lib/apt/lists/*
WORKDIR /app
ENV npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false
COPY package.json package-lock.json tsconfig.base.json ./
COPY proto/package.json proto/
COPY enclave/package.json enclave/
# proto's and enclave's dependencies as the lock file places them, with TypeScript to compile; install scripts stay off.
RUN npm ci --include-workspace-root --workspace proto --workspace enclave --ignore-scripts
COPY proto/ proto/
COPY enclave/ enclave/
COPY scripts/enclave-image-tree.mjs scripts/build-native.mjs scripts/
COPY --from=vsock /node-vsock.linux-x64-gnu.node /native/
RUN npx tsc -b enclave && node scripts/enclave-image-tree.mjs /image --vsock-addon /native/node-vsock.linux-x64-gnu.node

FROM ${NODE_IMAGE}
WORKDIR /app
# NODE_OPTIONS: a smaller young generation and a small-heap growing factor, for memory within its budget, and the collections the enclave runs when idle; glibc keeps its default arena per thread (enclave/src/process-env.ts).
ENV NODE_ENV=production \
    NODE_OPTIONS="--max-semi-space-size=4 --max-old-space-size=512 --expose-gc" \
    ENCLAVE_PLATFORM=nitro \
    ENCLAVE_LISTEN=vsock://4294967295:5005 \
    ENCLAVE_KMS_PROXY=vsock://3:8000 \
    ENCLAVE_GUARD_PROXY=vsock://3:8001
# Pinned into the image, and so into PCR0; the host chooses none of them, and the enclave refuses to start
# without them: the wallet key's ARN (its region is the region of every AWS call), the guard table's ARN,
# and whether to use the FIPS endpoints.
ARG KMS_KEY_ID
ARG GUARD_TABLE_ARN
ARG AWS_FIPS=0
RUN test -n "${KMS_KEY_ID}" && test -n "${GUARD_TABLE_ARN}" \
 || { echo "build with --build-arg KMS_KEY_ID=arn:aws:kms:… --build-arg GUARD_TABLE_ARN=arn:aws:dynamodb:…" >&2; exit 1; }
ENV ENCLAVE_KMS_KEY_ID=${KMS_KEY_ID} \
    ENCLAVE_GUARD_TABLE=${GUARD_TABLE_ARN} \
    ENCLAVE_AWS_FIPS=${AWS_FIPS}
# Passkeys (docs/passkeys.md): the origins they may be registered from (comma-separated https origins) and
# the RP id (default: the first origin's host). Empty: passkeys are off. Pinned too: a host cannot add an origin.
ARG PASSKEY_ORIGINS=
ARG PASSKEY_RP_ID=
ENV ENCLAVE_PASSKEY_ORIGINS=${PASSKEY_ORIGINS} \
    ENCLAVE_PASSKEY_RP_ID=${PASSKEY_RP_ID}
COPY --from=build /image /app
USER node
# V8 flags (enclave/src/process-env.ts, ENCLAVE_V8_FLAGS): work on the main thread, and the request path optimised early.
CMD ["node", "--single-threaded", "--no-flush-bytecode", "--invocation-count-for-maglev=50", "--invocation-count-for-turbofan=300", "--minimum-invocations-after-ic-update=50", "enclave/dist/main.cjs"]
