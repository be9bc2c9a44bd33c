/**
 * The HTTP probe: GET /health must answer 200 with JSON whose `build` is the deployed image id.
 * One request per call, no connection reuse (each probe measures a whole exchange).
 */
import * as http from "node:http";

export interface HealthResponse {
  readonly statusCode: number;
  readonly body: string;
}

export function httpGet(url: string, timeoutMs: number): Promise<HealthResponse> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent: false, headers: { connection: "close" } }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (body += chunk));
      res.on("end", () => {
        clearTimeout(timer);
        resolve({ statusCode: res.statusCode ?? 0, body });
      });
      res.on("error", reject);
    });
    // One timer for the whole exchange: the socket timeout only starts once connected, and a
    // guest that does not answer ARP leaves connect() pending for minutes.
    const timer = setTimeout(
      () =>
        req.destroy(
          Object.assign(new Error(`no response within ${timeoutMs} ms`), { code: "ETIMEDOUT" }),
        ),
      timeoutMs,
    );
    req.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

/**
 * Why a response does not prove the expected build is serving, or undefined when it does.
 * Pure: unit-tested with canned responses.
 */
export function healthResponseProblem(
  res: HealthResponse,
  expectedBuild: string,
): string | undefined {
  if (res.statusCode !== 200) return `status ${res.statusCode} (expected 200)`;
  let doc: unknown;
  try {
    doc = JSON.parse(res.body);
  } catch {
    return `body is not JSON: ${JSON.stringify(res.body.slice(0, 80))}`;
  }
  const build = (doc as { build?: unknown } | null)?.build;
  if (typeof build !== "string") return "JSON has no string field `build`";
  if (build !== expectedBuild) return `build ${build} is not the deployed image ${expectedBuild}`;
  return undefined;
}
