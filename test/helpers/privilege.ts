/**
 * Tests that need root (network namespaces, tap devices, dnsmasq) or other prerequisites.
 * Without them a suite cannot run: under CI that is a failure saying so, never a silent skip;
 * on a developer's machine the suite is reported as skipped (jest counts it as skipped, not
 * passed). One rule for every such suite.
 */
export const isRoot = process.getuid?.() === 0;

/** Whether this is a CI run: `CI` set to anything but empty, `false` or `0`. */
export function isCi(env: NodeJS.ProcessEnv = process.env): boolean {
  const ci = (env.CI ?? "").trim().toLowerCase();
  return ci !== "" && ci !== "false" && ci !== "0";
}

/**
 * `describe` when nothing is `missing`; otherwise, under CI, a suite whose one test fails with
 * the reason, and elsewhere a skipped suite named with the reason.
 */
export function describeUnless(missing: string | undefined, name: string, fn: () => void): void {
  if (!missing) return describe(name, fn);
  if (isCi()) {
    describe(name, () => {
      test(`needs ${missing}`, () => {
        throw new Error(`${name}: needs ${missing}, and CI must not skip it`);
      });
    });
    return;
  }
  describe.skip(`${name} (needs ${missing})`, fn);
}

/** `describe` when root; otherwise a failing test under CI, a skipped suite elsewhere. */
export function describeAsRoot(name: string, fn: () => void): void {
  describeUnless(isRoot ? undefined : "root (CAP_NET_ADMIN and CAP_SYS_ADMIN)", name, fn);
}
