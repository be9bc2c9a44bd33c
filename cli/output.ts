/**
 * The only place that prints. Phase events become a live line with a spinner on a TTY, plain
 * lines elsewhere (CI, pipes), and JSON lines under --json; all progress goes to stderr except
 * JSON, which is stdout's only content. Final results go to stdout.
 */
import type { PhaseEvent } from "../lib/events";
import { maskSecrets } from "./secrets";

export type OutputMode = "tty" | "plain" | "json";

export function chooseOutputMode(
  json: boolean,
  stream: NodeJS.WriteStream = process.stderr,
): OutputMode {
  if (json) return "json";
  return stream.isTTY && !process.env.CI && process.env.TERM !== "dumb" ? "tty" : "plain";
}

const SPINNER = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

export class Output {
  /** Phases started and not finished, with their latest message; the live line shows the newest. */
  private readonly active = new Map<string, string>();
  private timer?: NodeJS.Timeout;
  private frame = 0;
  private readonly phaseStarts = new Map<string, number>();

  constructor(readonly mode: OutputMode) {}

  /** Renders one phase event. */
  readonly event = (raw: PhaseEvent): void => {
    const e = JSON.parse(maskSecrets(JSON.stringify(raw))) as PhaseEvent;
    if (this.mode === "json") {
      process.stdout.write(JSON.stringify({ type: "event", ...e }) + "\n");
      return;
    }
    if (e.status === "start") this.phaseStarts.set(e.phase, Date.now());
    const started = this.phaseStarts.get(e.phase);
    const took = started !== undefined ? ` (${((Date.now() - started) / 1000).toFixed(1)} s)` : "";
    if (this.mode === "plain") {
      const mark = e.status === "error" ? "error: " : "";
      const time = e.status === "stop" || e.status === "error" ? took : "";
      process.stderr.write(`${e.phase}: ${mark}${e.message}${time}\n`);
      return;
    }
    if (e.status === "start" || e.status === "progress") {
      this.active.delete(e.phase);
      this.active.set(e.phase, e.message);
      this.timer ??= setInterval(() => this.draw(), 100);
      this.draw();
      return;
    }
    this.clearLine();
    const mark = e.status === "stop" ? "\x1b[32m✔\x1b[0m" : "\x1b[31m✖\x1b[0m";
    process.stderr.write(`${mark} ${e.phase}: ${e.message}${took}\n`);
    this.active.delete(e.phase);
    if (this.active.size) this.draw();
    else this.stopTimer();
  };

  /** The command's result: human lines on stdout, or one JSON object under --json. */
  result(command: string, data: Record<string, unknown>, lines: string[]): void {
    this.finish();
    if (this.mode === "json") {
      process.stdout.write(
        maskSecrets(JSON.stringify({ type: "result", command, ok: true, ...data })) + "\n",
      );
    } else if (lines.length) {
      process.stdout.write(maskSecrets(lines.join("\n")) + "\n");
    }
  }

  /** A failure: the message on stderr (always), and a JSON result under --json. */
  failure(command: string, exitCode: number, rawMessage: string, rawStack?: string): void {
    this.finish();
    const message = maskSecrets(rawMessage);
    const stack = rawStack === undefined ? undefined : maskSecrets(rawStack);
    if (this.mode === "json") {
      process.stdout.write(
        JSON.stringify({ type: "result", command, ok: false, exitCode, error: message }) + "\n",
      );
    }
    process.stderr.write(`exoform ${command}: error: ${message}\n`);
    if (stack) process.stderr.write(`${stack}\n`);
  }

  finish(): void {
    this.stopTimer();
    this.clearLine();
    this.active.clear();
  }

  private draw() {
    const newest = [...this.active].pop();
    if (!newest) return;
    const [phase, message] = newest;
    const secs = ((Date.now() - (this.phaseStarts.get(phase) ?? Date.now())) / 1000).toFixed(1);
    const width = process.stderr.columns || 100;
    const text = `${SPINNER[this.frame++ % SPINNER.length]} ${phase}: ${message} (${secs} s)`;
    process.stderr.write(`\r\x1b[K${text.length < width ? text : text.slice(0, width - 2) + "…"}`);
  }

  private clearLine() {
    if (this.mode === "tty") process.stderr.write("\r\x1b[K");
  }

  private stopTimer() {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
