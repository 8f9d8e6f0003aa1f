# The enclave image: what nitro-cli measures into PCR0. Reproducible: the base
# is pinned by digest, dependencies come from the lock file only, only the
# proto and enclave workspaces go in, and file times are normalised so the
# same commit gives the same layers. It runs the enclave in nitro mode on vsock
# and needs no network at run time (KMS and the guard table are reached through vsock-proxy).
#
# Build: nitro/build-enclave.sh (docker build, then nitro-cli build-enclave).
# To move to a newer Node LTS, replace the digest with the one of
# `docker buildx imagetools inspect node:24-bookworm-slim` and publish the new PCRs.

ARG NODE_IMAGE=node:24-bookworm-slim@sha256:d6aa754f16b3197301076f047b5def2f02ea1dbbc2ca920407d46d7ec7f87b20

FROM ${NODE_IMAGE} AS build
WORKDIR /app
ENV npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false
COPY package.json package-lock.json tsconfig.base.json ./
COPY proto/package.json proto/
COPY enclave/package.json enclave/
# Dev dependencies (TypeScript) for the build stage only; install scripts stay off.
RUN npm ci --include-workspace-root --workspace proto --workspace enclave --ignore-scripts
COPY proto/ proto/
COPY enclave/ enclave/
RUN npx tsc -b enclave \
 && rm -rf node_modules \
 && npm ci --omit=dev --workspace proto --workspace enclave --ignore-scripts \
 && find /app -exec touch -h -d @0 {} +

FROM ${NODE_IMAGE}
WORKDIR /app
# MALLOC_ARENA_MAX, NODE_OPTIONS: memory within its budget (the PIN stretches reuse one arena; a smaller young generation) (enclave/src/process-env.ts).
ENV NODE_ENV=production \
    MALLOC_ARENA_MAX=1 \
    NODE_OPTIONS=--max-semi-space-size=8 \
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
COPY --from=build /app/package.json /app/package-lock.json ./
COPY --from=build /app/node_modules node_modules
COPY --from=build /app/proto/package.json proto/package.json
COPY --from=build /app/proto/dist proto/dist
COPY --from=build /app/proto/generated proto/generated
COPY --from=build /app/enclave/package.json enclave/package.json
COPY --from=build /app/enclave/dist enclave/dist
USER node
CMD ["node", "enclave/dist/main.cjs"]
