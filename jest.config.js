/** Tests run against real simulators; they are slow by nature, so one worker and long timeouts. */
module.exports = {
  testEnvironment: "node",
  roots: ["<rootDir>/test"],
  testMatch: ["**/*.test.ts"],
  transform: { "^.+\\.ts$": ["ts-jest", { tsconfig: "tsconfig.json" }] },
  testTimeout: 120000,
  globalTeardown: "<rootDir>/test/support/global-teardown.ts",
};
