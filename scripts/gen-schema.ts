/** `npm run schema`: writes schema.json, docs/reference.md and sdk/args.generated.ts from the provider's zod schemas. */
import * as fs from "node:fs";
import * as path from "node:path";
import { buildPackageSchema } from "../provider/schema/package-schema";
import { renderReference } from "../provider/schema/reference";
import { renderSdkTypes } from "../provider/schema/sdk-types";
import { packageRoot } from "../provider/paths";

const root = packageRoot();
const schema = buildPackageSchema();
fs.writeFileSync(path.join(root, "schema.json"), JSON.stringify(schema, null, 2) + "\n");
fs.mkdirSync(path.join(root, "docs"), { recursive: true });
fs.writeFileSync(path.join(root, "docs", "reference.md"), renderReference(schema));
fs.writeFileSync(path.join(root, "sdk", "args.generated.ts"), renderSdkTypes());
console.log("wrote schema.json, docs/reference.md and sdk/args.generated.ts");
