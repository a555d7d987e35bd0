/**
 * provider/vim/types.generated.ts is generated from the compact vim25 WSDL: this fails when the WSDL changed without
 * `npm run vim25`. It also checks the generated model on a few types whose shape the driver relies on.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { renderVimTypes } from "../provider/vim/codegen";
import { vimSchema } from "../provider/vim/schema";

const root = path.resolve(__dirname, "..");

test("the committed provider/vim/types.generated.ts matches the WSDL", () => {
  expect(fs.readFileSync(path.join(root, "provider", "vim", "types.generated.ts"), "utf8")).toBe(renderVimTypes(vimSchema()));
});

test("generated declarations: base types, subtype unions, enums and method signatures", () => {
  const text = renderVimTypes(vimSchema());
  // VirtualDisk has VirtualDevice's fields (by extension) and its own.
  expect(text).toMatch(/export interface VirtualDisk extends Omit<VirtualDevice, "_type"> \{\s*_type\?: "VirtualDisk";\s*capacityInKB\?: number;/);
  expect(text).toMatch(/export interface VirtualDevice \{\s*_type\?: "VirtualDevice";\s*key\?: number;/);
  // A field declared as a type with subtypes takes any of them.
  expect(text).toMatch(/export type BaseVirtualDevice = VirtualDevice \| [^;]*VirtualDisk[^;]*;/);
  expect(text).toMatch(/device\?: BaseVirtualDevice;/);
  expect(text).toContain('export type VirtualMachinePowerState = "poweredOff" | "poweredOn" | "suspended";');
  expect(text).toMatch(
    /CreateVM_Task: \{\s*args: \{\s*config: VirtualMachineConfigSpec;\s*pool: ManagedObjectReference;\s*host\?: ManagedObjectReference;\s*\};\s*returns: ManagedObjectReference;/,
  );
  expect(text).toMatch(/RebootGuest: \{\s*args: Record<string, never>;\s*returns: void;/);
});
