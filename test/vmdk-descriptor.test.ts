/** VMDK descriptors: render/parse round trip (property-based) and interoperability with the real qemu-img. */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import fc from "fast-check";
import { descriptorAdapterType, diskGeometry, parseDescriptor, renderDescriptor, sectorAlign, toDdbUuid, type DiskType } from "../provider/vmdk";

const QEMU_IMG = "/usr/bin/qemu-img";
let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "vmdk-desc-"));
});
afterAll(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

const ADAPTERS = ["lsiLogic", "busLogic", "ide", "lsiLogicsas", "paraVirtual", "lsilogic", "legacyESX"];
const DISK_TYPES: DiskType[] = ["thin", "thick", "eagerZeroedThick"];

test("render -> parse round trip keeps every field", () => {
  const fileName = fc
    .string({ minLength: 1, maxLength: 60, unit: fc.constantFrom(..."abcXYZ019 -_.()ü日".split("")) })
    .filter((s) => s.trim() === s && s.length > 0);
  fc.assert(
    fc.property(
      fileName,
      fc.integer({ min: 1, max: 2 ** 40 }),
      fc.constantFrom(...ADAPTERS),
      fc.constantFrom(...DISK_TYPES),
      fc.option(fc.stringMatching(/^[0-9a-f]{8}$/), { nil: undefined }),
      fc.option(fc.uuid(), { nil: undefined }),
      fc.option(fc.integer({ min: 3, max: 21 }), { nil: undefined }),
      (name, sectors, adapterType, diskType, cid, uuid, hw) => {
        const text = renderDescriptor({
          extentFileName: `${name}-flat.vmdk`,
          capacityBytes: sectors * 512,
          adapterType,
          diskType,
          cid,
          uuid,
          virtualHWVersion: hw,
        });
        const d = parseDescriptor(text);
        expect(d.createType).toBe("vmfs");
        expect(d.version).toBe(1);
        expect(d.extents).toEqual([{ access: "RW", sectors, type: "VMFS", fileName: `${name}-flat.vmdk` }]);
        expect(d.capacitySectors).toBe(sectors);
        expect(d.capacityBytes).toBe(sectors * 512);
        expect(d.adapterType).toBe(descriptorAdapterType(adapterType));
        expect(d.thinProvisioned).toBe(diskType === "thin");
        expect(d.parentCid).toBe("ffffffff");
        expect(d.parentFileNameHint).toBeUndefined();
        expect(d.cid).toMatch(/^[0-9a-f]{8}$/);
        if (cid !== undefined) expect(d.cid).toBe(cid);
        if (uuid !== undefined) expect(d.uuid).toBe(toDdbUuid(uuid));
        else expect(d.uuid).toMatch(/^([0-9a-f]{2} ){7}[0-9a-f]{2}-([0-9a-f]{2} ){7}[0-9a-f]{2}$/);
        expect(d.virtualHWVersion).toBe(hw ?? 4);
        const geo = diskGeometry(sectors, descriptorAdapterType(adapterType));
        expect(d.ddb["geometry.cylinders"]).toBe(String(geo.cylinders));
        expect(Number(d.ddb["geometry.cylinders"])).toBeGreaterThanOrEqual(1);
        expect(d.ddb["geometry.heads"]).toBe(String(geo.heads));
      },
    ),
    { numRuns: 300 },
  );
});

test("parse tolerates CRLF, NUL padding, comments and blank lines; reads parent and extent offsets", () => {
  const text =
    '# Disk DescriptorFile\r\nversion=1\r\nCID=ABCDEF01\r\nparentCID=12345678\r\ncreateType="vmfsSparse"\r\nparentFileNameHint="base.vmdk"\r\n\r\n' +
    '# Extent description\r\nRW 2048 VMFSSPARSE "child-delta.vmdk"\r\nRDONLY 100 FLAT "x.img" 7\r\nNOACCESS 4 ZERO\r\n\r\n#DDB\r\nddb.adapterType = "ide"\r\n\u0000\u0000\u0000';
  const d = parseDescriptor(text);
  expect(d).toMatchObject({
    cid: "abcdef01",
    parentCid: "12345678",
    createType: "vmfsSparse",
    parentFileNameHint: "base.vmdk",
    adapterType: "ide",
    capacitySectors: 2152,
    extents: [
      { access: "RW", sectors: 2048, type: "VMFSSPARSE", fileName: "child-delta.vmdk" },
      { access: "RDONLY", sectors: 100, type: "FLAT", fileName: "x.img", offset: 7 },
      { access: "NOACCESS", sectors: 4, type: "ZERO" },
    ],
  });
  expect(() => parseDescriptor("version=1\nthis is not a descriptor line\n")).toThrow(/unrecognized line "this is not a descriptor line"/);
});

test("invalid render inputs are refused", () => {
  const base = { extentFileName: "a-flat.vmdk", capacityBytes: 1024, adapterType: "lsiLogic", diskType: "thin" as const };
  expect(() => renderDescriptor({ ...base, capacityBytes: 1000 })).toThrow(/not a positive whole number of 512-byte sectors \(pad it: sectorAlign\)/);
  expect(() => renderDescriptor({ ...base, capacityBytes: 0 })).toThrow(/not a positive whole number/);
  expect(() => renderDescriptor({ ...base, extentFileName: 'a"b' })).toThrow(/invalid extent file name/);
  expect(() => renderDescriptor({ ...base, extentFileName: "a\nb" })).toThrow(/invalid extent file name/);
  expect(() => renderDescriptor({ ...base, adapterType: "nvme" })).toThrow(/unknown disk adapter type "nvme"/);
  expect(() => renderDescriptor({ ...base, cid: "xyz" })).toThrow(/invalid CID/);
  expect(() => renderDescriptor({ ...base, uuid: "nope" })).toThrow(/invalid disk uuid/);
  expect(sectorAlign(0)).toBe(0);
  expect(sectorAlign(1)).toBe(512);
  expect(sectorAlign(512)).toBe(512);
  expect(sectorAlign(5000)).toBe(5120);
});

test("qemu-img opens our vmfs descriptor + flat extent and reads the extent's bytes", () => {
  const flat = path.join(dir, "disk-flat.vmdk");
  const data = Buffer.alloc(3 * 1024 * 1024);
  for (let i = 0; i < data.length; i += 4096) data.write(`sector ${i}`, i);
  fs.writeFileSync(flat, data);
  fs.writeFileSync(
    path.join(dir, "disk.vmdk"),
    renderDescriptor({ extentFileName: "disk-flat.vmdk", capacityBytes: data.length, adapterType: "lsiLogicsas", diskType: "thin" }),
  );
  const info = JSON.parse(execFileSync(QEMU_IMG, ["info", "--output=json", path.join(dir, "disk.vmdk")], { encoding: "utf8" }));
  expect(info).toMatchObject({ format: "vmdk", "virtual-size": data.length });
  expect(info["format-specific"].data).toMatchObject({ "create-type": "vmfs" });
  execFileSync(QEMU_IMG, ["convert", "-O", "raw", path.join(dir, "disk.vmdk"), path.join(dir, "back.raw")]);
  expect(fs.readFileSync(path.join(dir, "back.raw")).equals(data)).toBe(true);
});

test("parses qemu-img's own monolithicFlat descriptor", () => {
  const desc = path.join(dir, "q.vmdk");
  execFileSync(QEMU_IMG, ["create", "-f", "vmdk", "-o", "subformat=monolithicFlat,adapter_type=lsilogic", desc, "10M"]);
  const d = parseDescriptor(fs.readFileSync(desc, "utf8"));
  expect(d).toMatchObject({
    createType: "monolithicFlat",
    adapterType: "lsilogic",
    capacityBytes: 10 * 1024 * 1024,
    extents: [{ access: "RW", sectors: 20480, type: "FLAT", fileName: "q-flat.vmdk", offset: 0 }],
  });
});
