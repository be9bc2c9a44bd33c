/**
 * Console logs (a VM's serial port as a file): read as lines, and the tail that failure messages
 * quote. Shared by every target that has a console and by the health check.
 */
import * as fs from "node:fs";

// eslint-disable-next-line no-control-regex
const TERMINAL_ESCAPES = /\x1b\[[0-9;?]*[A-Za-z]|\x1bc/g; // what a BIOS console sends a terminal

/** Console text as lines, without CRs and terminal escapes. Pure. */
export function consoleLines(text: string): string[] {
  return text
    .replace(TERMINAL_ESCAPES, "")
    .split(/\r?\n/)
    .map((l) => l.replace(/\r/g, ""));
}

/** A console log file as lines (see consoleLines); [] before it exists. */
export function readConsoleLines(file: string): string[] {
  try {
    return consoleLines(fs.readFileSync(file, "latin1"));
  } catch {
    return [];
  }
}

/**
 * The last `count` non-empty lines, each as `  | <line>`, for failure messages; a note when
 * the console printed nothing. Pure.
 */
export function consoleTail(lines: readonly string[], count = 15): string {
  const text = lines.filter((l) => l.trim() !== "");
  if (text.length === 0) return "  (empty: the guest printed nothing)";
  return text
    .slice(-count)
    .map((l) => `  | ${l}`)
    .join("\n");
}
