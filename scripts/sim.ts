/**
 * `npm run sim`: starts the embedded simulated ESX host (HTTPS, self-signed certificate) and a real OpenStack
 * Glance on 127.0.0.1 with free ports, prints the stack config to use them, and stops both on Ctrl-C.
 */
import { startEsxSim } from "./lib/esx-sim";
import { startGlance } from "./lib/glance-sim";

async function main(): Promise<void> {
  const esx = await startEsxSim({ tls: true });
  const glance = await startGlance();
  const lines = [
    `pulumi config set esx:host ${esx.host}`,
    `pulumi config set esx:username ${esx.username}`,
    `pulumi config set --secret esx:password '${esx.password}'`,
    `pulumi config set esx:thumbprint ${esx.thumbprintSha256}`,
    `pulumi config set esx:glanceUrl ${glance.url}`,
  ];
  console.log("Simulated ESX host and Glance are running. Stack config:\n");
  console.log(lines.map((l) => `  ${l}`).join("\n"));
  console.log(
    `\nDatastores: ${Object.entries(esx.datastores)
      .map(([n, d]) => `${n} -> ${d}`)
      .join(", ")}`,
  );
  console.log("Press Ctrl-C to stop.");
  const stop = async () => {
    await Promise.allSettled([esx.stop(), glance.stop()]);
    process.exit(0);
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  setInterval(() => {}, 1 << 30);
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
