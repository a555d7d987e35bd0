/**
 * The field tables (provider/resources/*.schema.ts): one entry for every input of the zod schema, schema.json's
 * replaceOnChanges taken from them, and each resource's diff computed from its table, as rows of old outputs,
 * new inputs and the expected replaces and changes. Pure: no host.
 */
import { z } from "zod";
import * as esxImage from "../provider/resources/esx-image";
import { ESX_IMAGE_FIELDS, esxImageInputs } from "../provider/resources/esx-image.schema";
import * as esxInstance from "../provider/resources/esx-instance";
import { ESX_INSTANCE_FIELDS, esxInstanceInputs } from "../provider/resources/esx-instance.schema";
import { FieldRule, replaceFields } from "../provider/resources/fields";
import * as guestNetwork from "../provider/resources/guest-network";
import { GUEST_NETWORK_FIELDS, guestNetworkInputs } from "../provider/resources/guest-network.schema";
import { buildPackageSchema } from "../provider/schema/package-schema";

const tables: [string, Record<string, FieldRule>, z.ZodObject][] = [
  ["GuestNetwork", GUEST_NETWORK_FIELDS, guestNetworkInputs],
  ["EsxImage", ESX_IMAGE_FIELDS, esxImageInputs],
  ["EsxInstance", ESX_INSTANCE_FIELDS, esxInstanceInputs],
];

test.each(tables)("%s: the table has exactly the schema's inputs, and schema.json's replaceOnChanges comes from it", (kind, table, inputs) => {
  expect(Object.keys(table).sort()).toEqual(Object.keys(inputs.shape).sort());
  const resource = buildPackageSchema().resources[`esx:index:${kind}`];
  const replacing = Object.entries<{ replaceOnChanges?: boolean }>(resource.inputProperties)
    .filter(([, p]) => p.replaceOnChanges)
    .map(([k]) => k);
  expect(replacing.sort()).toEqual(replaceFields(table).sort());
});

interface Row {
  what: string;
  olds: Record<string, unknown>;
  news: Record<string, unknown>;
  replaces: string[];
  changes: boolean;
  deleteBeforeReplace?: boolean;
}

const network = { portGroup: "lan", vswitch: "vSwitch0", vlanId: 0, cidr: "10.0.0.0/24", gateway: "10.0.0.1", dnsServers: [], adopt: false, host: null };
const networkRows: Row[] = [
  { what: "same inputs", olds: network, news: network, replaces: [], changes: false },
  {
    what: "defaults written out or left out are the same",
    olds: network,
    news: { portGroup: "lan", cidr: "10.0.0.0/24", gateway: "10.0.0.1" },
    replaces: [],
    changes: false,
  },
  { what: "a cidr recorded with host bits is the same subnet", olds: { ...network, cidr: "10.0.0.5/24" }, news: network, replaces: [], changes: false },
  { what: "another subnet: update", olds: network, news: { ...network, cidr: "10.0.1.0/24", gateway: "10.0.1.1" }, replaces: [], changes: true },
  { what: "VLAN: update", olds: network, news: { ...network, vlanId: 20 }, replaces: [], changes: true },
  {
    what: "port group name: replace (create first: another name)",
    olds: network,
    news: { ...network, portGroup: "lan2" },
    replaces: ["portGroup"],
    changes: true,
    deleteBeforeReplace: false,
  },
  {
    what: "vSwitch: replace, delete first (same name)",
    olds: network,
    news: { ...network, vswitch: "vSwitch1" },
    replaces: ["vswitch"],
    changes: true,
    deleteBeforeReplace: true,
  },
  { what: "host alias: replace", olds: network, news: { ...network, host: "esx2" }, replaces: ["host"], changes: true, deleteBeforeReplace: true },
];

const image = {
  glanceImageId: "img1",
  datastore: "ds1",
  folder: "images",
  diskType: "thin",
  host: null,
  resourceUrn: "urn:a",
  captureFrom: null,
  glance: null,
};
const imageRows: Row[] = [
  { what: "same inputs", olds: image, news: { glanceImageId: "img1", datastore: "ds1", diskType: "thin", folder: "images" }, replaces: [], changes: false },
  { what: "datastore and diskType left to the default keep what create chose", olds: image, news: { glanceImageId: "img1" }, replaces: [], changes: false },
  { what: "another datastore: replace", olds: image, news: { glanceImageId: "img1", datastore: "ds2" }, replaces: ["datastore"], changes: true },
  { what: "another image: replace", olds: image, news: { glanceImageId: "img2" }, replaces: ["glanceImageId"], changes: true },
  { what: "another folder: replace", olds: image, news: { glanceImageId: "img1", folder: "base" }, replaces: ["folder"], changes: true },
  { what: "a new URN alone changes nothing", olds: image, news: { glanceImageId: "img1", resourceUrn: "urn:b" }, replaces: [], changes: false },
  {
    what: "a capture's glanceImageId is an output: not compared",
    olds: {
      ...image,
      glanceImageId: "made-1",
      captureFrom: { vmId: "vm-1", name: "web", vmxPath: null, host: null },
      glance: { name: "g", visibility: "private", properties: null },
    },
    news: { captureFrom: { vmId: "vm-1", name: "web" }, glance: { name: "g" } },
    replaces: [],
    changes: false,
  },
  {
    what: "a capture of another VM: replace",
    olds: { ...image, captureFrom: { vmId: "vm-1", name: "web", vmxPath: null, host: null }, glance: { name: "g", visibility: "private", properties: null } },
    news: { captureFrom: { vmId: "vm-2", name: "web" }, glance: { name: "g" } },
    replaces: ["captureFrom"],
    changes: true,
  },
];

const img = {
  datastorePath: "[ds1] images/a/a.vmdk",
  datastore: "ds1",
  capacityBytes: 1024 ** 3,
  adapterType: "lsiLogic",
  guestId: "ubuntu64Guest",
  nicType: "vmxnet3",
};
const lan = { portGroup: "lan", cidr: "10.0.0.0/24", gateway: "10.0.0.1", dnsServers: [], allocationRange: null };
const instanceOuts = {
  name: "web",
  host: null,
  image: img,
  cpus: 1,
  memoryMb: 512,
  cloneMode: "linked",
  powerState: "on",
  shutdownTimeoutSeconds: 60,
  adopt: false,
  adapterType: null,
  guestId: null,
  userData: null,
  diskBytes: 1024 ** 3,
  networks: [{ network: lan, portGroup: "lan", mac: "00:50:56:00:00:01", ip: "10.0.0.5", nicType: "vmxnet3", requestedIp: "10.0.0.5", requestedMac: null }],
};
const instanceIns = { name: "web", image: img, cpus: 1, memoryMb: 512, networks: [{ network: lan, ip: "10.0.0.5" }] };
const instanceRows: Row[] = [
  { what: "same inputs", olds: instanceOuts, news: instanceIns, replaces: [], changes: false },
  { what: "CPUs: update", olds: instanceOuts, news: { ...instanceIns, cpus: 2 }, replaces: [], changes: true },
  { what: "an address: update", olds: instanceOuts, news: { ...instanceIns, networks: [{ network: lan, ip: "10.0.0.6" }] }, replaces: [], changes: true },
  {
    what: "NIC type given as the image's default: the same",
    olds: instanceOuts,
    news: { ...instanceIns, networks: [{ network: lan, ip: "10.0.0.5", nicType: "vmxnet3" }] },
    replaces: [],
    changes: false,
  },
  {
    what: "VM name: replace, delete first",
    olds: instanceOuts,
    news: { ...instanceIns, name: "web2" },
    replaces: ["name"],
    changes: true,
    deleteBeforeReplace: true,
  },
  {
    what: "another base disk: replace",
    olds: instanceOuts,
    news: { ...instanceIns, image: { ...img, datastorePath: "[ds1] images/b/b.vmdk" } },
    replaces: ["image"],
    changes: true,
  },
  {
    what: "the image's guestId changes: update (guestId in effect)",
    olds: instanceOuts,
    news: { ...instanceIns, image: { ...img, guestId: "rhel7_64Guest" } },
    replaces: [],
    changes: true,
  },
  {
    what: "adapter given in the image's spelling is the same adapter",
    olds: instanceOuts,
    news: { ...instanceIns, adapterType: "lsilogic" },
    replaces: [],
    changes: false,
  },
  { what: "another adapter: replace", olds: instanceOuts, news: { ...instanceIns, adapterType: "pvscsi" }, replaces: ["adapterType"], changes: true },
  { what: "cloneMode written as its default", olds: instanceOuts, news: { ...instanceIns, cloneMode: "linked" }, replaces: [], changes: false },
  { what: "full clone: replace", olds: instanceOuts, news: { ...instanceIns, cloneMode: "full" }, replaces: ["cloneMode"], changes: true },
  {
    what: "a larger disk: update",
    olds: { ...instanceOuts, cloneMode: "full" },
    news: { ...instanceIns, cloneMode: "full", diskGb: 2 },
    replaces: [],
    changes: true,
  },
  { what: "a disk size at the current one: no change", olds: instanceOuts, news: { ...instanceIns, diskGb: 1 }, replaces: [], changes: false },
  { what: "userData: replace", olds: instanceOuts, news: { ...instanceIns, userData: "#cloud-config\n" }, replaces: ["userData"], changes: true },
  { what: "rebootTrigger: update", olds: instanceOuts, news: { ...instanceIns, rebootTrigger: "1" }, replaces: [], changes: true },
];

const kinds = { GuestNetwork: guestNetwork, EsxImage: esxImage, EsxInstance: esxInstance };
const rows: (Row & { kind: keyof typeof kinds })[] = [
  ...networkRows.map((r) => ({ ...r, kind: "GuestNetwork" as const })),
  ...imageRows.map((r) => ({ ...r, kind: "EsxImage" as const })),
  ...instanceRows.map((r) => ({ ...r, kind: "EsxInstance" as const })),
];

test.each(rows)("$kind diff: $what", (r) => {
  const d = kinds[r.kind].diff("id", r.olds, r.news);
  expect(d.replaces).toEqual(r.replaces);
  expect(d.changes).toBe(r.changes);
  if (r.deleteBeforeReplace !== undefined) expect(d.deleteBeforeReplace).toBe(r.deleteBeforeReplace);
});
