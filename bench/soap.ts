/**
 * Section 2: SOAP round trips per operation, counted at a recording proxy (test/support/fault-proxy.ts) between
 * the plugin and the host (esx:host = the proxy's plain-HTTP URL). Each operation's list of vSphere methods is
 * published with its count. Bars: linked-clone instance create with one NIC through power-on <= 8 (task waits
 * included); preview (check + diff of every resource, fresh plugin process) makes no call to the host or to
 * Glance; one Login per host per process however many resources.
 */
import { startEsxSim } from "../scripts/lib/esx-sim";
import { EsxPlugin, startEsxPlugin } from "../test/support/esx-plugin";
import { FaultProxy, startFaultProxy } from "../test/support/fault-proxy";
import { baseDisk, benchSession, createInstance, deleteInstance, DS, guestNetwork, instanceInputs } from "./fixtures";
import { BenchOptions, Cleanup, Row } from "./lib";

interface Counted {
  ops: string[];
  /** Requests that were not SOAP (datastore /folder transfers). */
  other: number;
}

async function counted(proxy: FaultProxy, all: string[], f: () => Promise<unknown>): Promise<Counted> {
  proxy.clearCalls();
  await f();
  const ops = proxy.soapOps();
  all.push(...ops);
  return { ops, other: proxy.calls.filter((c) => !c.soapOp).length };
}

function summary(ops: string[]): string {
  const out: string[] = [];
  for (const op of ops) {
    const last = out.at(-1);
    const m = last && /^(.*?)(?: x(\d+))?$/.exec(last);
    if (m && m[1] === op) out[out.length - 1] = `${op} x${Number(m[2] ?? 1) + 1}`;
    else out.push(op);
  }
  return out.join(", ");
}

function row(figure: string, c: Counted, bar: string, met: boolean | null, extra = ""): Row {
  return {
    section: "2",
    figure,
    value: `${c.ops.length} calls${c.other ? ` + ${c.other} other HTTP` : ""}`,
    reference: "-",
    ratio: "-",
    bar,
    met,
    data: { ops: c.ops, otherHttp: c.other },
    note: `${summary(c.ops) || "(none)"}${extra}`,
  };
}

export async function soapSection(opts: BenchOptions): Promise<Row[]> {
  const { log } = opts;
  const cleanup = new Cleanup();
  const rows: Row[] = [];
  try {
    const sim = await startEsxSim({ tls: true });
    cleanup.add("esxsim", () => sim.stop());
    const proxy = await startFaultProxy({ target: `https://${sim.host}` });
    cleanup.add("esx proxy", () => proxy.stop());
    // Glance is never needed here: a proxy to a closed port records any attempt (preview must make none).
    const glanceProxy = await startFaultProxy({ target: "http://127.0.0.1:9" });
    cleanup.add("glance proxy", () => glanceProxy.stop());
    const session = benchSession(sim);
    cleanup.add("session", () => session.logout());
    const image = await baseDisk(session, "soapimg", 64 * 1024 * 1024);
    const config = {
      "esx:host": proxy.url,
      "esx:allowHttp": "true",
      "esx:username": sim.username,
      "esx:password": sim.password,
      "esx:glanceUrl": glanceProxy.url,
    };

    const p: EsxPlugin = await startEsxPlugin(config);
    cleanup.add("plugin", () => p.plugin.stop());
    const all: string[] = [];
    let lan: Record<string, any> = {};
    const first = await counted(proxy, all, async () => (lan = await guestNetwork(p, "lan", "soap-lan")));
    const gn = await counted(proxy, all, () => guestNetwork(p, "lan2", "soap-lan2"));
    let made = { name: "", id: "", outs: {} as Record<string, any> };
    const firstInst = await counted(proxy, [], async () => (made = await createInstance(p, instanceInputs(p, "i0", image, lan, 0))));
    const inst = await counted(proxy, all, async () => (made = await createInstance(p, instanceInputs(p, "i1", image, lan, 1))));
    const upd = await counted(proxy, all, async () => {
      const r = await p.change("EsxInstance", "i1", made.id, made.outs, { ...instanceInputs(p, "i1", image, lan, 1), cpus: 2, memoryMb: 1024 });
      if (r.diff.changes !== "some") throw new Error("update of cpus+memory found no change");
      made = { ...made, outs: r.outs };
    });
    const del = await counted(proxy, all, () => deleteInstance(p, made));
    log(`soap: create ${inst.ops.length}, update ${upd.ops.length}, delete ${del.ops.length}, GuestNetwork ${gn.ops.length}`);

    rows.push(row("first operation of a process (GuestNetwork create, incl. login + host discovery)", first, "- (informational)", null));
    rows.push(row("GuestNetwork create", gn, "- (minimum: read + AddPortGroup + read back)", null));
    rows.push(row("linked-clone instance create, 1 NIC, through power-on", inst, "<= 8 incl. task waits", inst.ops.length <= 8));
    rows.push(row("(first instance of a process: + task watcher setup)", firstInst, "- (informational)", null));
    rows.push(row("instance update cpus + memory (powered on: off, reconfigure, on)", upd, "- (minimum the API allows)", null));
    rows.push(row("instance delete (linked clone)", del, "- (minimum the API allows)", null));

    // preview: a fresh plugin process checks and diffs every resource of a program against its state
    const q: EsxPlugin = await startEsxPlugin(config);
    cleanup.add("preview plugin", () => q.plugin.stop());
    const imageState = {
      host: null,
      glanceImageId: "soapimg",
      datastore: DS,
      folder: "images",
      diskType: "thin",
      datastorePath: image.datastorePath,
      capacityBytes: image.capacityBytes,
      sourceFormat: "raw",
      adapterType: "lsiLogic",
      guestId: "ubuntu64Guest",
      nicType: "vmxnet3",
      checksum: "sha512:00",
      sizeBytes: image.capacityBytes,
      imported: true,
    };
    const resources: { kind: "GuestNetwork" | "EsxImage" | "EsxInstance"; name: string; id: string; olds: Record<string, any>; news: Record<string, any> }[] = [
      {
        kind: "GuestNetwork",
        name: "lan",
        id: "soap-lan",
        olds: { ...lan },
        news: { portGroup: "soap-lan", cidr: "10.30.0.0/16", gateway: "10.30.0.1", dnsServers: ["10.30.0.2"] },
      },
      {
        kind: "GuestNetwork",
        name: "lan2",
        id: "soap-lan2",
        olds: { ...lan, portGroup: "soap-lan2" },
        news: { portGroup: "soap-lan2", cidr: "10.30.0.0/16", gateway: "10.30.0.1", vlanId: 7 },
      },
      { kind: "EsxImage", name: "img", id: "soapimg", olds: imageState, news: { glanceImageId: "soapimg" } },
      { kind: "EsxInstance", name: "i0", id: made.id, olds: made.outs, news: { ...instanceInputs(q, "i0", image, lan, 0), cpus: 4 } },
    ];
    proxy.clearCalls();
    glanceProxy.clearCalls();
    let checks = 0;
    for (const r of resources) {
      const urn = q.urn(r.kind, r.name);
      const c = await q.plugin.check(urn, r.olds, { ...r.news, __provider: q.provider[r.kind] });
      await q.plugin.diff(r.id, urn, { ...r.olds, __provider: q.provider[r.kind] }, c.inputs);
      checks++;
    }
    const previewCalls = proxy.calls.length + glanceProxy.calls.length;
    rows.push({
      section: "2",
      figure: `preview: check + diff of ${checks} resources (3 kinds) in a fresh plugin process`,
      value: `${previewCalls} host/Glance requests`,
      reference: "-",
      ratio: "-",
      bar: "0",
      met: previewCalls === 0,
      data: { esx: proxy.calls, glance: glanceProxy.calls },
    });

    const logins = all.filter((o) => o === "Login").length + firstInst.ops.filter((o) => o === "Login").length;
    rows.push({
      section: "2",
      figure: "Logins per plugin process (2 networks, 2 instances, update, delete)",
      value: String(logins),
      reference: "-",
      ratio: "-",
      bar: "1",
      met: logins === 1,
    });
  } finally {
    await cleanup.run(log);
  }
  return rows;
}
