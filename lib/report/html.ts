/**
 * The comparison as one self-contained HTML page: tables plus SVG charts rendered on the server
 * by Apache ECharts (its SSR mode: `renderer: "svg", ssr: true`, no DOM), inlined, with no
 * script, stylesheet or font from anywhere else, so the page works offline and as a CI
 * artefact. Charts: phase timings per instance (stacked bars), ICMP and HTTP latency
 * distributions (p50, p95, max per instance) and each stack's monthly cost.
 */
import * as echarts from "echarts";
import { ComparedInstance, Comparison } from "./comparison";
import { comparisonTables, ReportTable } from "./markdown";

const WIDTH = 860;

/** One ECharts option rendered to an SVG string (animation off: a finished picture). */
function svgChart(option: echarts.EChartsOption, height: number): string {
  const chart = echarts.init(null, null, { renderer: "svg", ssr: true, width: WIDTH, height });
  try {
    chart.setOption({ animation: false, ...option });
    return chart.renderToSVGString();
  } finally {
    chart.dispose();
  }
}

const escape = (s: string) =>
  s.replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!,
  );

/**
 * The segments of one instance's deployment timeline (ms), in order: the durations build,
 * upload, import and create, then boot to the first echo reply, then on to the first HTTP 200
 * (firstPing and firstHttp200 both count from the instance's start, so the last segment is
 * their difference; without a ping it is the whole time to the first 200). Pure.
 */
export function timelineSegments(phases: ComparedInstance["phases"]): [string, number][] {
  const { build = 0, upload = 0, create = 0, firstPing, firstHttp200 } = phases;
  const toPing = firstPing ?? 0;
  const toHttp = firstHttp200 === undefined ? 0 : Math.max(0, firstHttp200 - toPing);
  return [
    ["build", build],
    ["upload", upload],
    ["import", phases.import ?? 0],
    ["create", create],
    ["boot to first ping", toPing],
    ["then first HTTP 200", toHttp],
  ];
}

/** The phase chart: one horizontal stacked bar per instance, its timeline segments (ms). */
export function phaseChart(c: Comparison): string {
  const labels = c.instances.map((i) => `${i.stack}/${i.name}`);
  const rows = c.instances.map((i) => timelineSegments(i.phases));
  return svgChart(
    {
      title: { text: "Deployment timeline (ms)", left: "center" },
      legend: { top: 34 },
      grid: { left: 160, right: 30, top: 76, bottom: 30 },
      xAxis: { type: "value" },
      yAxis: { type: "category", data: labels, inverse: true },
      series: rows[0].map(([name], k) => ({
        name,
        type: "bar",
        stack: "timeline",
        data: rows.map((r) => r[k][1]),
      })),
    },
    106 + 36 * labels.length,
  );
}

/** Latency distributions: p50, p95 and max per instance, for one protocol (ms). */
export function latencyChart(c: Comparison, probe: "icmp" | "http"): string {
  const labels = c.instances.map((i) => `${i.stack}/${i.name}`);
  const title = probe === "icmp" ? "ICMP round-trip (ms)" : "HTTP GET /health latency (ms)";
  const pick = (k: "p50Ms" | "p95Ms" | "maxMs") =>
    c.instances.map((i) => i[probe].latency?.[k] ?? 0);
  return svgChart(
    {
      title: { text: title, left: "center" },
      legend: { top: 34 },
      grid: { left: 160, right: 30, top: 76, bottom: 30 },
      xAxis: { type: "value" },
      yAxis: { type: "category", data: labels, inverse: true },
      series: [
        { name: "p50", type: "bar", data: pick("p50Ms") },
        { name: "p95", type: "bar", data: pick("p95Ms") },
        { name: "max", type: "bar", data: pick("maxMs") },
      ],
    },
    106 + 48 * labels.length,
  );
}

/** Monthly cost per stack (USD; a stack whose target has no price shows 0). */
export function costChart(c: Comparison): string {
  return svgChart(
    {
      title: {
        text: "Monthly cost (USD)",
        left: "center",
        // Zero-length bars draw nothing: say so instead of leaving an empty-looking chart.
        ...(c.stacks.every((s) => !s.monthlyCostUsd) && { subtext: "every stack costs $0" }),
      },
      grid: { left: 160, right: 30, top: 50, bottom: 30 },
      xAxis: { type: "value" },
      yAxis: { type: "category", data: c.stacks.map((s) => s.stack), inverse: true },
      series: [
        { name: "USD / month", type: "bar", data: c.stacks.map((s) => s.monthlyCostUsd ?? 0) },
      ],
    },
    80 + 36 * c.stacks.length,
  );
}

function tableHtml(t: ReportTable): string {
  const cells = (tag: string, row: readonly string[]) =>
    `<tr>${row.map((cell) => `<${tag}>${escape(cell)}</${tag}>`).join("")}</tr>`;
  return `${t.title ? `<h3>${escape(t.title)}</h3>\n` : ""}<table><thead>${cells("th", t.head)}</thead><tbody>${t.rows
    .map((r) => cells("td", r))
    .join("")}</tbody></table>`;
}

export function renderHtml(c: Comparison): string {
  const stacks = c.stacks.map((s) => s.stack).join(" vs ");
  const image = c.sameImage
    ? `<p class="ok">Every stack runs image <code>${escape(c.stacks[0].imageId)}</code>.</p>`
    : `<p class="bad"><strong>Image mismatch:</strong> ${c.stacks
        .map((s) => `${escape(s.stack)} runs <code>${escape(s.imageId.slice(0, 16))}</code>`)
        .join(", ")}.</p>`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>exoform comparison: ${escape(stacks)}</title>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 2em auto; max-width: ${WIDTH + 40}px; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: right; }
th:first-child, td:first-child { text-align: left; }
.ok { color: #176f2c; } .bad { color: #a4161a; }
figure { margin: 1em 0; }
</style>
</head>
<body>
<h1>exoform comparison: ${escape(stacks)}</h1>
${image}
${comparisonTables(c).map(tableHtml).join("\n")}
<figure class="chart" id="phases">${phaseChart(c)}</figure>
<figure class="chart" id="icmp">${latencyChart(c, "icmp")}</figure>
<figure class="chart" id="http">${latencyChart(c, "http")}</figure>
<figure class="chart" id="cost">${costChart(c)}</figure>
<p><small>${escape(c.format)}, generated ${escape(c.generatedAt)}</small></p>
</body>
</html>
`;
}
