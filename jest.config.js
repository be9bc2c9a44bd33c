/** Jest runs the TypeScript tests directly (ts-jest); QEMU and Pulumi tests are slow under TCG,
 * hence the generous default timeout. Speed targets live in bench/, not here. */
module.exports = {
  preset: "ts-jest",
  testEnvironment: "node",
  roots: ["<rootDir>/test"],
  testMatch: ["**/*.test.ts"],
  testTimeout: 120000,
};
