/**
 * buildGuestinfo() unit tests, and the keys fed to Debian's real cloud-init VMware datasource
 * (test/fixtures/guest/cloudinit_vmware.py) whose network config and rendered networkd/netplan files must
 * match the machine.id built from the same input.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as YAML from "yaml";
import { buildGuestinfo, decodeGuestinfoValue, GuestinfoInput, GuestinfoNic } from "../provider/guest/cloudinit";
import { decodeMachineId, encodeMachineId, machineIdNicFromPrefix } from "../provider/guest/machine-id";
import { createNetns, deleteCreatedNetns } from "./fixtures/guest/netns";

const SCRIPT = path.join(__dirname, "fixtures", "guest", "cloudinit_vmware.py");

const nics: GuestinfoNic[] = [
  { mac: "00:50:56:AA:00:01", ip: "10.20.0.15", prefix: 24, gateway: "10.20.0.1", dns: ["10.20.0.2", "9.9.9.9"] },
  { mac: "00:50:56:aa:00:02", ip: "172.16.4.9", prefix: 22, dns: ["172.16.4.1"] },
];
const input: GuestinfoInput = { instanceId: "i-0042", hostname: "web-1", nics, userData: "#cloud-config\nruncmd:\n - [touch, /tmp/ok]\n" };

describe("buildGuestinfo", () => {
  test("keys, encodings and metadata document", () => {
    const keys = buildGuestinfo(input);
    expect(Object.keys(keys)).toEqual(["guestinfo.metadata", "guestinfo.metadata.encoding", "guestinfo.userdata", "guestinfo.userdata.encoding"]);
    expect(keys["guestinfo.metadata.encoding"]).toBe("gzip+base64");
    expect(JSON.parse(decodeGuestinfoValue(keys["guestinfo.metadata"], "gzip+base64"))).toEqual({
      "instance-id": "i-0042",
      "local-hostname": "web-1",
      network: {
        version: 2,
        ethernets: {
          nic0: {
            match: { macaddress: "00:50:56:aa:00:01" },
            dhcp4: false,
            addresses: ["10.20.0.15/24"],
            routes: [{ to: "0.0.0.0/0", via: "10.20.0.1" }],
            nameservers: { addresses: ["10.20.0.2", "9.9.9.9"] },
          },
          nic1: { match: { macaddress: "00:50:56:aa:00:02" }, dhcp4: false, addresses: ["172.16.4.9/22"], nameservers: { addresses: ["172.16.4.1"] } },
        },
      },
    });
    expect(decodeGuestinfoValue(keys["guestinfo.userdata"], keys["guestinfo.userdata.encoding"])).toBe(input.userData);
  });

  test("DHCP NIC, set-name, base64, no userdata", () => {
    const keys = buildGuestinfo({ instanceId: "x", hostname: "h.example.org", nics: [{ mac: "00:50:56:00:00:09", setName: "eth9" }], encoding: "base64" });
    expect(Object.keys(keys)).toEqual(["guestinfo.metadata", "guestinfo.metadata.encoding"]);
    expect(keys["guestinfo.metadata.encoding"]).toBe("base64");
    expect(JSON.parse(Buffer.from(keys["guestinfo.metadata"], "base64").toString()).network.ethernets).toEqual({
      nic0: { match: { macaddress: "00:50:56:00:00:09" }, "set-name": "eth9", dhcp4: true },
    });
  });

  test("deterministic: same input gives identical strings, gzip header has no timestamp", async () => {
    const a = buildGuestinfo(input);
    await new Promise((r) => setTimeout(r, 1100));
    const b = buildGuestinfo(JSON.parse(JSON.stringify(input)));
    expect(b).toEqual(a);
    const gz = Buffer.from(a["guestinfo.metadata"], "base64");
    expect([...gz.subarray(0, 10)]).toEqual([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 2, 255]);
  });

  test.each<[Partial<GuestinfoInput>, string]>([
    [{ instanceId: "" }, "instanceId: must be a non-empty string"],
    [{ hostname: "bad_host" }, 'hostname: "bad_host" is not a valid host name'],
    [{ encoding: "zip" as never }, 'encoding: must be "gzip+base64" or "base64"'],
    [{ nics: [{ mac: "00:50:56:aa:00" }] }, 'nics[0].mac: "00:50:56:aa:00" is not a MAC address (six hex pairs separated by colons)'],
    [{ nics: [nics[0], { ...nics[1], mac: "00:50:56:aa:00:01" }] }, "nics[1].mac: 00:50:56:aa:00:01 is also the MAC of nics[0]"],
    [{ nics: [{ mac: "00:50:56:aa:00:01", ip: "10.0.0.1" }] }, "nics[0].prefix: must be an integer 0-32 with ip"],
    [{ nics: [{ mac: "00:50:56:aa:00:01", ip: "10.0.0.1", prefix: 33 }] }, "nics[0].prefix: must be an integer 0-32 with ip"],
    [{ nics: [{ mac: "00:50:56:aa:00:01", prefix: 24 }] }, "nics[0].prefix: only allowed with ip"],
    [{ nics: [{ mac: "00:50:56:aa:00:01", ip: "10.0.0.300", prefix: 24 }] }, 'nics[0].ip: "10.0.0.300" is not a dotted-quad IPv4 address'],
    [{ nics: [{ ...nics[0], gateway: "gw" }] }, 'nics[0].gateway: "gw" is not a dotted-quad IPv4 address'],
    [{ nics: [{ ...nics[0], dns: ["1.1.1.1", ""] }] }, 'nics[0].dns[1]: "" is not a dotted-quad IPv4 address'],
    [{ nics: [{ ...nics[0], setName: "a name" }] }, 'nics[0].setName: "a name" is not a valid interface name'],
  ])("rejects %j", (patch, message) => {
    expect(() => buildGuestinfo({ ...input, ...patch })).toThrow(new Error(message));
  });
});

/** Parses a systemd .network file into section -> key -> values. */
function parseUnit(text: string): Record<string, Record<string, string[]>> {
  const out: Record<string, Record<string, string[]>> = {};
  let sec = "";
  for (const line of text.split("\n").map((l) => l.trim())) {
    if (!line || line.startsWith("#")) continue;
    const m = /^\[(.+)\]$/.exec(line);
    if (m) {
      sec = m[1];
      out[sec] ??= {};
      continue;
    }
    const [k, ...v] = line.split("=");
    (out[sec][k] ??= []).push(...v.join("=").split(/\s+/).filter(Boolean));
  }
  return out;
}

describe("Debian's cloud-init VMware datasource reads the guestinfo keys", () => {
  const dirs: string[] = [];
  afterAll(() => {
    deleteCreatedNetns();
    dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true }));
  });

  /** Runs the datasource script, inside network namespace `netns` when given. */
  function runDatasource(keys: Record<string, string>, netns?: string): any {
    const work = fs.mkdtempSync(path.join(os.tmpdir(), "pe-ci-"));
    dirs.push(work);
    fs.mkdirSync(path.join(work, "guestinfo"));
    for (const [k, v] of Object.entries(keys)) fs.writeFileSync(path.join(work, "guestinfo", k), v);
    const env = { ...process.env };
    delete env.VMX_GUESTINFO;
    const cmd = netns ? ["ip", "netns", "exec", netns, "/usr/bin/python3"] : ["/usr/bin/python3"];
    const out = execFileSync(cmd[0], [...cmd.slice(1), SCRIPT, work], { env, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
    return { ...JSON.parse(out), rpctoolLog: fs.readFileSync(path.join(work, "rpctool.log"), "utf8") };
  }

  for (const encoding of ["gzip+base64", "base64"] as const) {
    test(`two NICs (${encoding}): network config and rendered networkd/netplan files match machine.id`, () => {
      const keys = buildGuestinfo({ ...input, encoding });
      const got = runDatasource(keys);
      expect(got.access_method).toBe("guestinfo");
      expect(got.rpctoolLog).toContain("info-get guestinfo.metadata");
      expect(got.instance_id).toBe("i-0042");
      expect(got.metadata["local-hostname"]).toBe("web-1");
      expect(got.userdata).toBe(input.userData);

      // The machine.id of the same instance, through encode/decode.
      const mid = decodeMachineId(encodeMachineId(nics.map((n) => machineIdNicFromPrefix(n as Required<GuestinfoNic>))));
      expect(mid.errors).toEqual([]);

      // cloud-init's parsed network state.
      const ifaces = got.interfaces as any[];
      expect(ifaces).toHaveLength(2);
      for (const m of mid.nics) {
        const i = ifaces.find((x) => x.mac_address === m.mac);
        expect(i).toBeDefined();
        expect(i.subnets).toHaveLength(1);
        const s = i.subnets[0];
        expect([s.type, s.address, s.netmask]).toEqual(["static", m.ip, m.netmask]);
        expect(s.dns_nameservers).toEqual(m.dns);
        const routes = (s.routes ?? []).map((r: any) => `${r.network}/${r.prefix} via ${r.gateway}`);
        expect(routes).toEqual(m.gateway ? [`0.0.0.0/0 via ${m.gateway}`] : []);
      }

      // networkd renderer output.
      const files = Object.entries(got.networkd as Record<string, string>);
      expect(files).toHaveLength(2);
      for (const m of mid.nics) {
        const f = files.map(([, t]) => parseUnit(t)).find((u) => u.Match?.MACAddress?.[0] === m.mac);
        expect(f).toBeDefined();
        const prefix = nics.find((n) => n.mac.toLowerCase() === m.mac)!.prefix;
        expect(f!.Address.Address).toEqual([`${m.ip}/${prefix}`]);
        expect(f!.Network?.DNS ?? []).toEqual(m.dns);
        const gw = Object.entries(f!)
          .filter(([s]) => s.startsWith("Route"))
          .map(([, r]) => r.Gateway?.[0]);
        expect(gw).toEqual(m.gateway ? [m.gateway] : []);
        if (m.gateway) expect(Object.values(f!).find((r) => r.Gateway)!.Destination).toEqual(["0.0.0.0/0"]);
      }

      // netplan renderer output (v2 is passed through): addresses, routes, nameservers per MAC.
      const plan = YAML.parse(Object.values(got.netplan as Record<string, string>)[0]).network;
      for (const m of mid.nics) {
        const e = Object.values(plan.ethernets as Record<string, any>).find((x) => x.match.macaddress === m.mac);
        expect(e.addresses).toEqual([`${m.ip}/${nics.find((n) => n.mac.toLowerCase() === m.mac)!.prefix}`]);
        expect(e.nameservers.addresses).toEqual(m.dns);
        expect(e.routes ?? []).toEqual(m.gateway ? [{ to: "0.0.0.0/0", via: m.gateway }] : []);
      }
    });
  }

  test("a DHCP NIC becomes a dhcp4 subnet", () => {
    const got = runDatasource(buildGuestinfo({ instanceId: "i-1", hostname: "d", nics: [{ mac: "00:50:56:aa:00:07" }] }));
    expect(got.interfaces).toHaveLength(1);
    expect(got.interfaces[0].mac_address).toBe("00:50:56:aa:00:07");
    expect(got.interfaces[0].subnets.map((s: any) => s.type)).toEqual(["dhcp4"]);
    expect(got.userdata).toBeNull();
  });

  test("in a guest whose NICs carry the MACs, cloud-init names the real interfaces in its networkd files", () => {
    const ns = createNetns();
    try {
      ns.addNic("ens192", nics[0].mac);
      ns.addNic("ens224", nics[1].mac);
      const got = runDatasource(buildGuestinfo(input), ns.name);
      const byName = Object.fromEntries((got.interfaces as any[]).map((i) => [i.name, i.mac_address]));
      expect(byName).toEqual({ ens192: "00:50:56:aa:00:01", ens224: "00:50:56:aa:00:02" });
      expect(Object.keys(got.networkd).sort()).toEqual([
        "etc/systemd/network/10-cloud-init-ens192.network",
        "etc/systemd/network/10-cloud-init-ens224.network",
      ]);
      const u = parseUnit(got.networkd["etc/systemd/network/10-cloud-init-ens192.network"]);
      expect(u.Match).toEqual({ MACAddress: ["00:50:56:aa:00:01"], Name: ["ens192"] });
    } finally {
      ns.delete();
    }
  });
});
