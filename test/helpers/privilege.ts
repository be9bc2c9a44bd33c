/**
 * Tests that need root (network namespaces, tap devices, dnsmasq). Without root they cannot run:
 * under CI (`CI` set) that is a failure saying so, never a silent skip; on a developer's machine
 * the suite is reported as skipped (jest counts it as skipped, not passed).
 */
export const isRoot = process.getuid?.() === 0;

/** `describe` when root; otherwise a failing test under CI, a skipped suite elsewhere. */
export function describeAsRoot(name: string, fn: () => void): void {
  if (isRoot) return describe(name, fn);
  if (process.env.CI) {
    describe(name, () => {
      test("needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN): run the tests as root", () => {
        throw new Error(`${name}: needs root, and CI must not skip it`);
      });
    });
    return;
  }
  describe.skip(name, fn);
}
