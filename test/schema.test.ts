/**
 * schema.json is generated from the zod schemas: this fails when a schema changed without `npm run schema`.
 * It also checks that the replace rules and secrets are described.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { buildPackageSchema } from "../provider/schema/package-schema";
import { renderReference } from "../provider/schema/reference";

const root = path.resolve(__dirname, "..");

test("the committed schema.json and docs/reference.md match the zod schemas", () => {
  const fresh = buildPackageSchema();
  const committed = JSON.parse(fs.readFileSync(path.join(root, "schema.json"), "utf8"));
  expect(committed).toEqual(fresh);
  expect(fs.readFileSync(path.join(root, "docs", "reference.md"), "utf8")).toBe(renderReference(fresh));
});

test("schema describes replacement, defaults and secret config", () => {
  const s = buildPackageSchema();
  const gn = s.resources["esx:index:GuestNetwork"];
  expect(gn.inputProperties.portGroup.replaceOnChanges).toBe(true);
  expect(gn.inputProperties.vlanId.replaceOnChanges).toBeUndefined();
  expect(gn.inputProperties.vswitch.default).toBe("vSwitch0");
  expect(gn.requiredInputs).toEqual(["portGroup"]);
  expect(gn.properties.networkId.description).toMatch(/Network object/);
  expect(s.config.variables.password.secret).toBe(true);
  for (const r of Object.values<any>(s.resources)) {
    for (const [k, p] of Object.entries<any>(r.inputProperties)) expect({ k, d: typeof p.description }).toEqual({ k, d: "string" });
  }
});
