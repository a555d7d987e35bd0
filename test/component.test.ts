/**
 * pulumi-esx resources inside ComponentResources (two levels: a Region holding a Site), run with the real
 * Pulumi CLI. The engine gives them URNs with the parents' type chain
 * (`acme:infra:Region$acme:infra:Site$pulumi-nodejs:dynamic/esx:EsxInstance::...`); the sdk passes that same URN
 * to the provider (pulumi.createUrn with the parent), so:
 *   - the VM's `pulumi-esx.urn` marker (by which an interrupted create is finished) equals the EsxInstance's URN
 *     in `pulumi stack export`;
 *   - the EsxImage's reference id (its resource id, the key in the image folder's refs.json) derives from its URN
 *     in `pulumi stack export`, and its resourceUrn output is that URN;
 *   - a second up changes nothing (the URN input is stable); destroy leaves no VM, port group or image.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { hostContext } from "../provider/esx/host";
import { listVms } from "../provider/driver/vm-state";
import { GlanceClient } from "../provider/glance/client";
import { referenceId } from "../provider/driver/image/cache-lock";
import { VimSession } from "../provider/vim/session";
import { simSession, snapshot } from "./cli/examples";
import { changes, Program, resourcesOf, Workspace } from "../scripts/lib/pulumi";
import { EsxSim, startEsxSim } from "../scripts/lib/esx-sim";
import { GlanceSim, startGlance } from "../scripts/lib/glance-sim";

const SOURCE = `
import * as pulumi from "@pulumi/pulumi";
import { EsxImage, EsxInstance, GuestNetwork } from "pulumi-esx";

class Site extends pulumi.ComponentResource {
  readonly vm: EsxInstance;
  readonly image: EsxImage;
  constructor(name: string, glanceImageId: string, opts?: pulumi.ComponentResourceOptions) {
    super("acme:infra:Site", name, {}, opts);
    const lan = new GuestNetwork(name + "-lan", { portGroup: name + "-lan", cidr: "10.50.0.0/24", gateway: "10.50.0.1" }, { parent: this });
    this.image = new EsxImage(name + "-base", { glanceImageId }, { parent: this });
    this.vm = new EsxInstance(name + "-vm", { name: name + "-vm", image: this.image, cpus: 1, memoryMb: 256, networks: [{ network: lan, ip: "10.50.0.10" }] }, { parent: this });
    this.registerOutputs({});
  }
}

class Region extends pulumi.ComponentResource {
  readonly site: Site;
  constructor(name: string, glanceImageId: string) {
    super("acme:infra:Region", name, {});
    this.site = new Site("site1", glanceImageId, { parent: this });
    this.registerOutputs({});
  }
}

const region = new Region("eu", new pulumi.Config().require("glanceImageId"));
export const vmUrn = region.site.vm.urn;
`;

let sim: EsxSim;
let glance: GlanceSim;
let ws: Workspace;
let prog: Program;

beforeAll(async () => {
  [sim, glance] = await Promise.all([startEsxSim({ tls: true }), startGlance()]);
  const g = new GlanceClient({ url: glance.url });
  const img = await g.createImage({ name: "component", disk_format: "raw", container_format: "bare" });
  await g.uploadData(img.id, Buffer.alloc(2 << 20, 5));
  ws = new Workspace();
  prog = ws.program({ project: "component", source: SOURCE });
  prog.initStack("test", {
    plain: { "esx:host": sim.host, "esx:thumbprint": sim.thumbprintSha256, "esx:username": sim.username, "esx:glanceUrl": glance.url, glanceImageId: img.id },
    secret: { "esx:password": sim.password },
  });
}, 300_000);

afterAll(async () => {
  await VimSession.closeAll();
  await Promise.allSettled([sim?.stop(), glance?.stop()]);
  ws?.remove();
});

test("the VM marker and the image reference id are the URNs the engine gave the resources inside the components", async () => {
  const before = await snapshot(sim);
  const up = await prog.up("test");
  const state = prog.export("test");
  const [vmState] = resourcesOf(state, "EsxInstance");
  const [imgState] = resourcesOf(state, "EsxImage");
  expect(vmState.urn).toBe("urn:pulumi:test::component::acme:infra:Region$acme:infra:Site$pulumi-nodejs:dynamic/esx:EsxInstance::site1-vm");
  expect(imgState.urn).toBe("urn:pulumi:test::component::acme:infra:Region$acme:infra:Site$pulumi-nodejs:dynamic/esx:EsxImage::site1-base");
  expect(vmState.parent).toBe("urn:pulumi:test::component::acme:infra:Region$acme:infra:Site::site1");
  expect(up.outputs!.vmUrn.value).toBe(vmState.urn);

  // the marker on the host's VM
  const vms = (await listVms(await hostContext(simSession(sim)))).filter((v) => v.name === "site1-vm");
  expect(vms.map((v) => v.extraConfig["pulumi-esx.urn"])).toEqual([vmState.urn]);

  // the image: its resourceUrn, and the reference id in refs.json derived from the engine's URN
  expect(imgState.outputs!.resourceUrn).toBe(imgState.urn);
  const o = imgState.outputs!;
  const placement = (urn: string) =>
    referenceId(urn, { host: undefined, glanceImageId: o.glanceImageId, datastore: undefined, folder: o.folder, diskType: undefined });
  expect(imgState.id).toBe(placement(imgState.urn));
  const handBuilt = "urn:pulumi:test::component::pulumi-nodejs:dynamic/esx:EsxImage::site1-base"; // what the sdk sent before
  expect(imgState.id).not.toBe(placement(handBuilt));
  const refsFile = path.join(sim.datastores.LocalDS_0, o.folder, o.glanceImageId, "refs.json");
  expect(Object.keys(JSON.parse(fs.readFileSync(refsFile, "utf8")).refs)).toEqual([imgState.id]);

  expect(changes(await prog.up("test", { expectNoChanges: true }))).toEqual({});
  await prog.destroy("test");
  const after = await snapshot(sim);
  expect({ ...after, files: after.files.filter((f) => f !== "[LocalDS_0] images/") }).toEqual(before);
}, 300_000);
