/**
 * Entry point of the health check inside a network namespace: `ip netns exec <ns> node
 * in-netns.js` reads a HealthCheckSpec as JSON on stdin (validated), writes phase events as
 * JSON lines on stderr and the HealthReport as JSON on stdout.
 */
import { HealthCheckSpecSchema, runHealthCheck } from "./check";

async function main() {
  let input = "";
  for await (const chunk of process.stdin) input += chunk;
  const parsed = HealthCheckSpecSchema.safeParse(JSON.parse(input));
  if (!parsed.success) throw new Error(`invalid health check spec: ${parsed.error.message}`);
  const report = await runHealthCheck(parsed.data, (event) =>
    process.stderr.write(JSON.stringify(event) + "\n"),
  );
  process.stdout.write(JSON.stringify(report));
}

main().catch((e: Error) => {
  process.stderr.write(`${e.message}\n`);
  process.exit(1);
});
