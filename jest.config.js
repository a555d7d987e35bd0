/** Tests run against real simulators; they are slow by nature, so one worker and long timeouts. */
module.exports = {
  testEnvironment: "node",
  roots: ["<rootDir>/test"],
  testMatch: ["**/*.test.ts"],
  transform: { "^.+\\.ts$": ["ts-jest", { tsconfig: "tsconfig.json" }] },
  testTimeout: 120000,
  // Examples import the package by name, as users do.
  moduleNameMapper: { "^pulumi-esx$": "<rootDir>/sdk/index.ts" },
  globalTeardown: "<rootDir>/test/support/global-teardown.ts",
};
