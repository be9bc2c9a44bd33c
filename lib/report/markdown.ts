/** The comparison as GitHub-flavoured markdown that fits a pull-request comment. Pure. */
import { Comparison, PHASE_LABELS, PHASES, ProbeSummary } from "./comparison";

const ms = (n: number | undefined) => (n === undefined ? "–" : `${Math.round(n)}`);
const lat = (n: number | undefined) => (n === undefined ? "–" : n.toFixed(2));
const usd = (n: number | undefined) => (n === undefined ? "–" : `$${n.toFixed(2)}`);

function row(cells: readonly string[]): string {
  return `| ${cells.map((c) => c.replace(/\|/g, "\\|")).join(" | ")} |`;
}

function table(head: readonly string[], rows: readonly (readonly string[])[]): string[] {
  return [row(head), row(head.map(() => "---")), ...rows.map(row)];
}

function probeCells(p: ProbeSummary): string[] {
  return [
    lat(p.latency?.p50Ms),
    lat(p.latency?.p95Ms),
    lat(p.latency?.maxMs),
    p.lossPercent === undefined ? p.status : `${p.lossPercent}%`,
  ];
}

/** A table of the report: a title (absent for the overview), header cells, rows of cells. */
export interface ReportTable {
  readonly title?: string;
  readonly head: readonly string[];
  readonly rows: readonly (readonly string[])[];
}

/** The report's tables, shared by the markdown and the HTML renderers. Pure. */
export function comparisonTables(c: Comparison): ReportTable[] {
  return [
    {
      head: ["stack", "target", "instances", "monthly cost"],
      rows: c.stacks.map((s) => [
        s.stack,
        s.target,
        String(s.instanceCount),
        usd(s.monthlyCostUsd),
      ]),
    },
    {
      title: "Phase timings (ms)",
      head: ["instance", ...PHASES.map((p) => PHASE_LABELS[p])],
      rows: c.instances.map((i) => [`${i.stack}/${i.name}`, ...PHASES.map((p) => ms(i.phases[p]))]),
    },
    {
      title: "Probes (ms)",
      head: [
        "instance",
        "ICMP p50",
        "ICMP p95",
        "ICMP max",
        "ICMP loss",
        "HTTP p50",
        "HTTP p95",
        "HTTP max",
        "HTTP loss",
      ],
      rows: c.instances.map((i) => [
        `${i.stack}/${i.name}`,
        ...probeCells(i.icmp),
        ...probeCells(i.http),
      ]),
    },
  ];
}

export function renderMarkdown(c: Comparison): string {
  const imageLine = c.sameImage
    ? `✅ every stack runs image \`${c.stacks[0].imageId.slice(0, 16)}\``
    : `⚠️ **image mismatch**: ${c.stacks.map((s) => `${s.stack} runs \`${s.imageId.slice(0, 16)}\``).join(", ")}`;
  return [
    `## exoform comparison: ${c.stacks.map((s) => s.stack).join(" vs ")}`,
    "",
    imageLine,
    "",
    ...comparisonTables(c).flatMap((t) => [
      ...(t.title ? [`### ${t.title}`, ""] : []),
      ...table(t.head, t.rows),
      "",
    ]),
    `<sub>exoform ${c.format}, ${c.generatedAt}</sub>`,
    "",
  ].join("\n");
}
