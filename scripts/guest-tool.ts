/**
 * Prints the pulumi-esx guest tool for a guest family and how to install it, or a #cloud-config user-data
 * document that installs the Linux tool.
 *
 *   node dist/scripts/guest-tool.js linux|windows [--out DIR]   files (or write them into DIR) + instructions
 *   node dist/scripts/guest-tool.js cloud-init                   #cloud-config user-data (write_files + runcmd)
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { cloudInitInstaller, GuestFamily, guestToolFiles, installInstructions } from "../provider/guest/tool-files";

function main(argv: string[]): number {
  const [mode, ...rest] = argv;
  if (mode === "cloud-init") {
    process.stdout.write(cloudInitInstaller());
    return 0;
  }
  if (mode !== "linux" && mode !== "windows") {
    process.stderr.write("usage: guest-tool linux|windows [--out DIR] | guest-tool cloud-init\n");
    return 2;
  }
  const family: GuestFamily = mode;
  const outIdx = rest.indexOf("--out");
  const files = guestToolFiles(family);
  if (outIdx >= 0) {
    const dir = rest[outIdx + 1];
    if (!dir) {
      process.stderr.write("--out needs a directory\n");
      return 2;
    }
    fs.mkdirSync(dir, { recursive: true });
    for (const f of files) fs.writeFileSync(path.join(dir, f.name), f.content, { mode: f.mode ? parseInt(f.mode, 8) : 0o644 });
    process.stdout.write(`wrote ${files.map((f) => path.join(dir, f.name)).join(", ")}\n\n${installInstructions(family)}\n`);
    return 0;
  }
  for (const f of files) process.stdout.write(`===== ${f.name} (install as ${f.installPath}) =====\n${f.content}\n`);
  process.stdout.write(`===== how to install =====\n${installInstructions(family)}\n`);
  return 0;
}

if (require.main === module) process.exitCode = main(process.argv.slice(2));

export { main };
