/**
 * The end-to-end suite (tests/e2e): the real Pulumi CLI deploying the gateway to the Docker engine.
 * One file at a time: the stacks share the engine, the registry and host ports.
 */
/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: "node",
  roots: ["<rootDir>/tests/e2e"],
  testMatch: ["**/*.test.ts"],
  transform: {
    "^.+\\.ts$": ["ts-jest", { tsconfig: "tsconfig.json", diagnostics: false }],
  },
  maxWorkers: 1,
  testTimeout: 20 * 60 * 1000,
  verbose: true,
};
