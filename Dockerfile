# Disburse API / worker / migrate image. TypeScript runs directly on Node 24 (type stripping), so
# there is no build step: the image is production dependencies plus the sources.
FROM node:24.21.0-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# Install scripts stay off, as in development (.npmrc): no dependency needs one at run time.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

FROM node:24.21.0-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
# .dockerignore admits only package.json, package-lock.json, src/, workflows/, activities/, config/.
COPY . .
# Sources stay root-owned and read-only to the unprivileged user that runs them.
USER node
# The API listens on all interfaces inside the container; compose publishes it on 127.0.0.1 only.
ENV API_HOST=0.0.0.0 API_PORT=3000
EXPOSE 3000
# docker-compose.yml overrides the command for the worker and the one-shot migration.
CMD ["node", "src/api/main.ts"]
