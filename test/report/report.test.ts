/**
 * The comparison report (lib/report/): numbers exactly as the outputs recorded them, a flagged
 * image mismatch, and an HTML page that is self-contained with one SVG chart per figure.
 */
import { compareStacks, ComparedStackInput } from "../../lib/report/comparison";
import { renderHtml, timelineSegments } from "../../lib/report/html";
import { renderMarkdown } from "../../lib/report/markdown";

const IMAGE_A = "a".repeat(64);
const IMAGE_B = "b".repeat(64);

function stack(name: string, target: string, imageId: string, cost?: number): ComparedStackInput {
  return {
    stack: name,
    target,
    imageId,
    ...(cost !== undefined && { monthlyCostUsd: cost }),
    instances: [
      {
        name: `${name}-0`,
        phases: { build: 41, create: 1234, firstPing: 2345, firstHttp200: 2467 },
        monthlyCostUsd: cost,
        health: {
          icmp: {
            status: "passed",
            stats: {
              lossPercent: 0,
              rtt: { count: 5, minMs: 0.2, p50Ms: 0.31, p95Ms: 0.77, maxMs: 0.8 },
            },
          },
          http: {
            status: "passed",
            lossPercent: 0,
            latency: { count: 3, minMs: 1.1, p50Ms: 1.23, p95Ms: 4.56, maxMs: 4.9 },
          },
        },
      },
    ],
  };
}

test("same image: stated; the tables carry the outputs' numbers", () => {
  const c = compareStacks([
    stack("local", "local", IMAGE_A, 0),
    stack("do", "digitalocean", IMAGE_A, 4.12),
  ]);
  expect(c.sameImage).toBe(true);
  const md = renderMarkdown(c);
  expect(md).toContain("✅ every stack runs image `aaaaaaaaaaaaaaaa`");
  expect(md).toContain("| do | digitalocean | 1 | $4.12 |");
  expect(md).toContain("| local/local-0 | 41 | – | – | 1234 | 2345 | 2467 |");
  expect(md).toContain("| do/do-0 | 0.31 | 0.77 | 0.80 | 0% | 1.23 | 4.56 | 4.90 | 0% |");
});

test("different images are flagged in every form", () => {
  const c = compareStacks([stack("x", "local", IMAGE_A), stack("y", "proxmox", IMAGE_B)]);
  expect(c.sameImage).toBe(false);
  expect(renderMarkdown(c)).toMatch(/⚠️ \*\*image mismatch\*\*: x runs `a{16}`, y runs `b{16}`/);
  expect(renderHtml(c)).toContain("Image mismatch:");
  expect(JSON.parse(JSON.stringify(c)).sameImage).toBe(false);
});

test("the HTML page is self-contained: inline SVG charts, nothing fetched from elsewhere", () => {
  const html = renderHtml(
    compareStacks([stack("a", "local", IMAGE_A, 0), stack("b", "local", IMAGE_A, 6)]),
  );
  expect((html.match(/<svg /g) ?? []).length).toBe(4);
  // No script, stylesheet, image or font from any URL (the SVG namespaces are names, not fetches).
  expect(html).not.toMatch(/<script|<link|@import|url\(|src=/i);
  const urls = html.match(/https?:\/\/[^"' )]+/g) ?? [];
  expect(urls.every((u) => u.startsWith("http://www.w3.org/"))).toBe(true);
  // The cost chart draws a bar for the stack that costs something.
  expect(html).toContain("Monthly cost (USD)");
});

test("the timeline chart turns times-from-start into consecutive segments", () => {
  expect(
    timelineSegments({ build: 40, create: 1200, firstPing: 2300, firstHttp200: 2500 }),
  ).toEqual([
    ["build", 40],
    ["upload", 0],
    ["import", 0],
    ["create", 1200],
    ["boot to first ping", 2300],
    ["then first HTTP 200", 200],
  ]);
  // No ping (ICMP skipped): the whole time to the first 200 is one segment.
  expect(timelineSegments({ firstHttp200: 900 }).slice(4)).toEqual([
    ["boot to first ping", 0],
    ["then first HTTP 200", 900],
  ]);
});
