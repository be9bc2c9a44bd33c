/**
 * Suites that need root (network namespaces, bridges, taps). Without root they are skipped on
 * a developer's machine; under `CI=true` a missing root is a failure with a clear message.
 */
export const isRoot = process.getuid?.() === 0;

export function describeAsRoot(name: string, body: () => void): void {
  if (isRoot) return describe(name, body);
  if (process.env.CI === "true")
    return describe(name, () => {
      it("runs as root", () => {
        throw new Error(
          `${name}: needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN for network namespaces); CI must run the tests as root`,
        );
      });
    });
  describe.skip(name, body);
}
