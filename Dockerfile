FROM node:20-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json ./
# @confluentinc/kafka-javascript fetches its prebuilt librdkafka binding from GitHub here; where that is
# unreachable, install python3 make g++ libssl-dev zlib1g-dev first and set CKJS_LINKING=dynamic to build it
RUN npm install --no-audit --no-fund
# the console (apps/console) has its own packages, only needed to build it
COPY apps/console/package.json apps/console/package-lock.json apps/console/
RUN npm ci --prefix apps/console --no-audit --no-fund
COPY . .
RUN npm run build && npm prune --omit=dev && rm -rf apps/console/node_modules
ENV NODE_ENV=production
EXPOSE 3000
CMD ["node", "dist/apps/server/src/main.js"]
