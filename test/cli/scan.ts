/**
 * Looking for secrets in what Pulumi printed and stored: clear text, base64 (at each of the three alignments)
 * and hex, in strings and in every file under a directory.
 */
import * as fs from "node:fs";
import * as path from "node:path";

/** Forms a secret could leak in: clear text, base64 at each of the 3 alignments, hex. */
export function encodings(secret: string): string[] {
  const out = [secret, Buffer.from(secret).toString("hex")];
  for (let i = 0; i < 3; i++) {
    const b64 = Buffer.from("\0".repeat(i) + secret).toString("base64");
    out.push(b64.slice(i ? 4 : 0, -4)); // drop the block mixed with the prefix and the block with padding
  }
  return out;
}

/** "<name> in <where>" for every secret (any encoding) found in text. */
export function findSecrets(secrets: Record<string, string>, where: string, text: string): string[] {
  const hits: string[] = [];
  for (const [name, s] of Object.entries(secrets))
    for (const e of encodings(s)) if (text.includes(e)) hits.push(`${name} in ${where}${e === s ? "" : ` (encoded: ${e})`}`);
  return hits;
}

export function filesUnder(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? filesUnder(path.join(dir, e.name)) : [path.join(dir, e.name)]));
}

/** findSecrets over every file under dir (bytes read as latin1, so binary files are scanned too). */
export function findSecretsInFiles(secrets: Record<string, string>, dir: string): string[] {
  return filesUnder(dir).flatMap((f) => findSecrets(secrets, path.relative(dir, f) || f, fs.readFileSync(f).toString("latin1")));
}
