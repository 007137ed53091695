# sam-amg CLI image: docker build -t sam-amg . && docker run --rm -v "$PWD:/data" sam-amg /data/images --out /data/masks.json
FROM node:20-bookworm-slim AS build
# The image's npm 10 does not read package.json's allowScripts: keep onnxruntime-node's CUDA download off explicitly.
ENV ONNXRUNTIME_NODE_INSTALL=skip
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY web ./web
COPY scripts/build-web.ts ./scripts/build-web.ts
# npm ci runs `prepare`, which compiles src/ into dist/ and bundles the report page (web/) into dist/web/report.
RUN npm ci

FROM node:20-bookworm-slim
ENV NODE_ENV=production \
    ONNXRUNTIME_NODE_INSTALL=skip \
    HF_HOME=/home/node/.cache/huggingface
WORKDIR /app
COPY package.json package-lock.json ./
# `prepare` compiles TypeScript, which a production install does not have; the build stage already did it.
RUN npm pkg delete scripts.prepare && npm ci --omit=dev && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY bin ./bin
COPY fixtures/models ./fixtures/models
USER node
ENTRYPOINT ["node", "/app/bin/sam-amg.js"]
CMD ["--help"]
