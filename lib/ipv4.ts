/** IPv4 dotted quads as unsigned 32-bit numbers. Pure; callers validate the text first. */

/** "10.0.0.5" → 0x0a000005. */
export function parseIpv4(text: string): number {
  return text.split(".").reduce((n, octet) => n * 256 + Number(octet), 0);
}

/** 0x0a000005 → "10.0.0.5". */
export function formatIpv4(n: number): string {
  return [24, 16, 8, 0].map((s) => (n >>> s) & 0xff).join(".");
}

/** 24 → 0xffffff00; 0 → 0. */
export function prefixToMask(prefix: number): number {
  return prefix === 0 ? 0 : (~0 << (32 - prefix)) >>> 0;
}

/** Whether `a` and `b` lie on the same /prefix subnet. */
export function sameSubnet(a: number, b: number, prefix: number): boolean {
  return ((a ^ b) & prefixToMask(prefix)) === 0;
}
