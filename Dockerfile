FROM node:20-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json ./
# @confluentinc/kafka-javascript fetches its prebuilt librdkafka binding from GitHub here; where that is
# unreachable, install python3 make g++ libssl-dev zlib1g-dev first and set CKJS_LINKING=dynamic to build it
RUN npm install --no-audit --no-fund
COPY . .
RUN npm run build && npm prune --omit=dev
ENV NODE_ENV=production
EXPOSE 3000
CMD ["node", "dist/apps/server/src/main.js"]
