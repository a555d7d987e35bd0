/** `npm run schema`: writes schema.json (and docs/reference.md) from the provider's zod schemas. */
import * as fs from "node:fs";
import * as path from "node:path";
import { buildPackageSchema } from "../provider/schema/package-schema";
import { renderReference } from "../provider/schema/reference";
import { packageRoot } from "../provider/paths";

const root = packageRoot();
const schema = buildPackageSchema();
fs.writeFileSync(path.join(root, "schema.json"), JSON.stringify(schema, null, 2) + "\n");
fs.mkdirSync(path.join(root, "docs"), { recursive: true });
fs.writeFileSync(path.join(root, "docs", "reference.md"), renderReference(schema));
console.log("wrote schema.json and docs/reference.md");
