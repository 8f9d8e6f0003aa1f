# The enclave image (first draft; the reproducible production version with a
# base pinned by digest comes with the Nitro issue). Only the proto and enclave
# workspaces go in; the host and the client never do.
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.base.json ./
COPY proto/package.json proto/
COPY enclave/package.json enclave/
RUN npm ci --workspace proto --workspace enclave --include-workspace-root=false --ignore-scripts
COPY proto/ proto/
COPY enclave/ enclave/
RUN npx tsc -b enclave

FROM node:24-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production ENCLAVE_LISTEN=vsock://4294967295:5005
COPY --from=build /app/node_modules node_modules
COPY --from=build /app/proto/package.json /app/proto/
COPY --from=build /app/proto/dist proto/dist
COPY --from=build /app/proto/generated proto/generated
COPY --from=build /app/enclave/package.json /app/enclave/
COPY --from=build /app/enclave/dist enclave/dist
CMD ["node", "enclave/dist/main.js"]
