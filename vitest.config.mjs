import { availableParallelism } from "node:os";
import { defineConfig } from "vitest/config";
// every core runs test files: vitest's default leaves one free, which on CI's two cores ran them one by one
export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 120000,
    hookTimeout: 120000,
    maxWorkers: Math.max(2, availableParallelism()),
  },
});
