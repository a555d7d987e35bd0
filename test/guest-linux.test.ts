/**
 * The Linux guest tool (provider/guest/tool/linux/pulumi-esx-guest.sh) run for real with dash inside network
 * namespaces made for the test: veth interfaces carry the MACs of a machine.id, a stub vmware-rpctool (or
 * vmtoolsd) on PATH prints it, and the namespace's addresses/routes and the files under a temp root are checked.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as YAML from "yaml";
import { encodeMachineId, machineIdNicFromPrefix } from "../provider/guest/machine-id";
import { defaultRoutes, ipv4, parseIni } from "./fixtures/guest/inspect";
import { createNetns, deleteCreatedNetns, Netns } from "./fixtures/guest/netns";

const TOOL = path.resolve(__dirname, "..", "provider", "guest", "tool", "linux", "pulumi-esx-guest.sh");
const MAC_A = "00:50:56:aa:00:01";
const MAC_B = "00:50:56:aa:00:02";
const MAC_C = "00:50:56:aa:00:03";

const MACHINE_ID = encodeMachineId([
  machineIdNicFromPrefix({ mac: MAC_A.toUpperCase(), ip: "10.20.0.15", prefix: 24, gateway: "10.20.0.1", dns: ["10.20.0.2", "9.9.9.9"] }),
  machineIdNicFromPrefix({ mac: MAC_B, ip: "172.16.4.9", prefix: 22, dns: ["172.16.4.1", "9.9.9.9"] }),
]);

const temps: string[] = [];
function tempDir(prefix: string): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  temps.push(d);
  return d;
}

/** A bin dir with a stub tool printing `machineId` for `machine.id.get` (exit 1 and no output when undefined). */
function stubBin(machineId: string | undefined, tool: "vmware-rpctool" | "vmtoolsd" = "vmware-rpctool"): string {
  const bin = tempDir("pe-bin-");
  const idFile = path.join(bin, "machine.id");
  if (machineId !== undefined) fs.writeFileSync(idFile, machineId);
  const want = tool === "vmware-rpctool" ? '[ "$1" = "machine.id.get" ]' : '[ "$1" = "--cmd" ] && [ "$2" = "machine.id.get" ]';
  fs.writeFileSync(path.join(bin, tool), `#!/bin/sh\n${want} || exit 1\n[ -f "${idFile}" ] || { echo 1 >&2; exit 1; }\ncat "${idFile}"\necho\n`, {
    mode: 0o755,
  });
  return bin;
}

function runTool(ns: Netns, bin: string, root: string, stack: string) {
  const env = {
    PATH: `${bin}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`,
    PULUMI_ESX_GUEST_ROOT: root,
    PULUMI_ESX_GUEST_STACK: stack,
  };
  return ns.exec(["sh", TOOL], env);
}

/** Every file under root with its mtime (ns) and mode. */
function snapshot(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else {
        const st = fs.statSync(p, { bigint: true });
        out[path.relative(root, p)] = `${st.mtimeNs} ${st.mode.toString(8)}`;
      }
    }
  };
  walk(root);
  return out;
}

afterAll(() => {
  deleteCreatedNetns();
  for (const d of temps) fs.rmSync(d, { recursive: true, force: true });
});

describe("Linux guest tool in a network namespace", () => {
  let ns: Netns;
  let bin: string;
  let root: string;

  beforeAll(() => {
    ns = createNetns();
    ns.addNic("eth0", MAC_A); // no address at all
    ns.addNic("eth1", MAC_B, "192.0.2.9/24"); // an unrelated address
    ns.addNic("eth2", MAC_C, "198.51.100.7/24"); // not named in machine.id
    bin = stubBin(MACHINE_ID);
    root = tempDir("pe-root-");
  });
  afterAll(() => ns.delete());

  test("applies addresses, prefix, default route and DNS from machine.id; leaves other interfaces alone", () => {
    const r = runTool(ns, bin, root, "networkd");
    expect(r.stderr).toContain("done: 2 interface(s) configured");
    expect(r.status).toBe(0);
    expect(ipv4(ns, "eth0")).toEqual(["10.20.0.15/24"]);
    expect(ipv4(ns, "eth1")).toEqual(["172.16.4.9/22"]);
    expect(ipv4(ns, "eth2")).toEqual(["198.51.100.7/24"]);
    expect(ns.ipJson("link", "show", "dev", "eth0")[0].flags).toContain("UP");
    expect(defaultRoutes(ns)).toEqual(["10.20.0.1 dev eth0 metric 100"]);
    expect(ns.ipJson("-4", "addr", "show", "dev", "eth0")[0].addr_info[0].broadcast).toBe("10.20.0.255");
    const resolv = fs.readFileSync(path.join(root, "etc/resolv.conf"), "utf8");
    expect(resolv.split("\n").filter((l) => l.startsWith("nameserver"))).toEqual(["nameserver 10.20.0.2", "nameserver 9.9.9.9", "nameserver 172.16.4.1"]);
    expect(Object.keys(snapshot(root)).sort()).toEqual([
      "etc/resolv.conf",
      "etc/systemd/network/10-pulumi-esx-eth0.network",
      "etc/systemd/network/10-pulumi-esx-eth1.network",
    ]);
    const eth0 = parseIni(fs.readFileSync(path.join(root, "etc/systemd/network/10-pulumi-esx-eth0.network"), "utf8"));
    expect(eth0).toEqual({
      Match: { MACAddress: [MAC_A] },
      Network: { DHCP: ["no"], DNS: ["10.20.0.2", "9.9.9.9"] },
      Address: { Address: ["10.20.0.15/24"] },
      Route: { Gateway: ["10.20.0.1"], Metric: ["100"] },
    });
    const eth1 = parseIni(fs.readFileSync(path.join(root, "etc/systemd/network/10-pulumi-esx-eth1.network"), "utf8"));
    expect(eth1.Route).toBeUndefined();
    expect(eth1.Address).toEqual({ Address: ["172.16.4.9/22"] });
  });

  test("a second run changes nothing", () => {
    const before = snapshot(root);
    const addrs = JSON.stringify(ns.ipJson("-4", "addr"));
    const routes = JSON.stringify(ns.ipJson("-4", "route"));
    const r = runTool(ns, bin, root, "networkd");
    expect(r.status).toBe(0);
    expect(r.stderr).toContain("nothing to do: 2 interface(s) already as machine.id says (stack networkd, dns resolvconf)");
    expect(r.stderr.split("\n").filter(Boolean)).toHaveLength(1);
    expect(snapshot(root)).toEqual(before);
    expect(JSON.stringify(ns.ipJson("-4", "addr"))).toBe(addrs);
    expect(JSON.stringify(ns.ipJson("-4", "route"))).toBe(routes);
  });

  test("a changed machine.id moves the address and route; stale ones are removed", () => {
    const bin2 = stubBin(
      encodeMachineId([
        machineIdNicFromPrefix({ mac: MAC_A, ip: "10.20.0.16", prefix: 25, gateway: "10.20.0.126", dns: ["10.20.0.2", "9.9.9.9"] }),
        machineIdNicFromPrefix({ mac: MAC_B, ip: "172.16.4.9", prefix: 22, dns: ["172.16.4.1", "9.9.9.9"] }),
      ]),
    );
    const r = runTool(ns, bin2, root, "networkd");
    expect(r.status).toBe(0);
    expect(ipv4(ns, "eth0")).toEqual(["10.20.0.16/25"]);
    expect(defaultRoutes(ns)).toEqual(["10.20.0.126 dev eth0 metric 100"]);
    expect(r.stderr).toContain("eth0: removed address 10.20.0.15/24");
    expect(r.stderr).not.toContain("eth1:");
    // back to the original for the following tests
    expect(runTool(ns, bin, root, "networkd").status).toBe(0);
    expect(ipv4(ns, "eth0")).toEqual(["10.20.0.15/24"]);
  });

  const layouts: Record<string, (root: string) => void> = {
    netplan(r) {
      const f = path.join(r, "etc/netplan/60-pulumi-esx-eth0.yaml");
      expect(fs.statSync(f).mode & 0o777).toBe(0o600);
      expect(YAML.parse(fs.readFileSync(f, "utf8"))).toEqual({
        network: {
          version: 2,
          ethernets: {
            eth0: {
              match: { macaddress: MAC_A },
              dhcp4: false,
              addresses: ["10.20.0.15/24"],
              routes: [{ to: "0.0.0.0/0", via: "10.20.0.1", metric: 100 }],
              nameservers: { addresses: ["10.20.0.2", "9.9.9.9"] },
            },
          },
        },
      });
      const eth1 = YAML.parse(fs.readFileSync(path.join(r, "etc/netplan/60-pulumi-esx-eth1.yaml"), "utf8")).network.ethernets.eth1;
      expect(eth1.routes).toBeUndefined();
      expect(eth1.addresses).toEqual(["172.16.4.9/22"]);
    },
    networkmanager(r) {
      const f = path.join(r, "etc/NetworkManager/system-connections/pulumi-esx-eth0.nmconnection");
      expect(fs.statSync(f).mode & 0o777).toBe(0o600);
      const k = parseIni(fs.readFileSync(f, "utf8"));
      expect(k.connection.id).toEqual(["pulumi-esx-eth0"]);
      expect(k.connection["interface-name"]).toEqual(["eth0"]);
      expect(k.connection.uuid[0]).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
      expect(k.ethernet["mac-address"]).toEqual([MAC_A.toUpperCase()]);
      expect(k.ipv4).toEqual({
        method: ["manual"],
        address1: ["10.20.0.15/24"],
        gateway: ["10.20.0.1"],
        "route-metric": ["100"],
        dns: ["10.20.0.2;9.9.9.9;"],
        "ignore-auto-dns": ["true"],
        "never-default": ["false"],
      });
      const k1 = parseIni(fs.readFileSync(path.join(r, "etc/NetworkManager/system-connections/pulumi-esx-eth1.nmconnection"), "utf8"));
      expect(k1.ipv4["never-default"]).toEqual(["true"]);
      expect(k1.connection.uuid).not.toEqual(k.connection.uuid);
    },
    ifupdown(r) {
      expect(fs.readFileSync(path.join(r, "etc/network/interfaces.d/pulumi-esx-eth0"), "utf8")).toBe(
        [
          "# Written by pulumi-esx-guest from machine.id; do not edit.",
          "auto eth0",
          "iface eth0 inet static",
          "    address 10.20.0.15/24",
          "    gateway 10.20.0.1",
          "    metric 100",
          "    dns-nameservers 10.20.0.2 9.9.9.9",
          "",
        ].join("\n"),
      );
      expect(fs.readFileSync(path.join(r, "etc/network/interfaces"), "utf8")).toBe(
        [
          "auto lo",
          "iface lo inet loopback",
          "",
          "#pulumi-esx-guest# allow-hotplug eth0 eth2",
          "allow-hotplug eth2",
          "#pulumi-esx-guest# iface eth0 inet dhcp",
          "#pulumi-esx-guest#     hostname web",
          "",
          "iface eth2 inet dhcp",
          "source /etc/network/interfaces.d/*",
          "",
        ].join("\n"),
      );
    },
    networkd(r) {
      expect(fs.existsSync(path.join(r, "etc/systemd/network/10-pulumi-esx-eth0.network"))).toBe(true);
    },
  };

  for (const [stack, check] of Object.entries(layouts)) {
    test(`persists in the ${stack} layout, idempotently`, () => {
      const r0 = tempDir(`pe-root-${stack}-`);
      if (stack === "ifupdown") {
        fs.mkdirSync(path.join(r0, "etc/network"), { recursive: true });
        fs.writeFileSync(
          path.join(r0, "etc/network/interfaces"),
          "auto lo\niface lo inet loopback\n\nallow-hotplug eth0 eth2\niface eth0 inet dhcp\n    hostname web\n\niface eth2 inet dhcp\n",
        );
      }
      const r = runTool(ns, bin, r0, stack);
      expect(r.status).toBe(0);
      check(r0);
      expect(fs.readdirSync(path.join(r0, "etc")).sort()).toEqual(
        { netplan: ["netplan"], networkmanager: ["NetworkManager"], ifupdown: ["network"], networkd: ["systemd"] }[stack]!.concat("resolv.conf").sort(),
      );
      expect(JSON.stringify(snapshot(r0))).not.toContain("eth2");
      const before = snapshot(r0);
      const again = runTool(ns, bin, r0, stack);
      expect(again.stderr).toContain("nothing to do");
      expect(snapshot(r0)).toEqual(before);
    });
  }
});

describe("Linux guest tool: malformed records, fallbacks, nothing set", () => {
  let ns: Netns;
  beforeAll(() => {
    ns = createNetns();
    ns.addNic("eth0", MAC_A);
    ns.addNic("eth1", MAC_B, "192.0.2.9/24");
  });
  afterAll(() => ns.delete());

  test("a malformed record leaves its interface untouched while the good one is applied", () => {
    const good = encodeMachineId([machineIdNicFromPrefix({ mac: MAC_A, ip: "10.20.0.15", prefix: 24, gateway: "10.20.0.1" })]);
    const bin = stubBin(`${good}${MAC_B};172.16.4.300;255.255.252.0;;172.16.7.255;#`);
    const root = tempDir("pe-root-");
    const r = runTool(ns, bin, root, "networkd");
    expect(r.status).toBe(3);
    expect(r.stderr).toContain('record 1 skipped (its interface is left as it was): ip "172.16.4.300" is not a dotted-quad IPv4 address');
    expect(ipv4(ns, "eth0")).toEqual(["10.20.0.15/24"]);
    expect(ipv4(ns, "eth1")).toEqual(["192.0.2.9/24"]);
    expect(fs.readdirSync(path.join(root, "etc/systemd/network"))).toEqual(["10-pulumi-esx-eth0.network"]);
    expect(fs.existsSync(path.join(root, "etc/resolv.conf"))).toBe(false);
  });

  test("falls back to vmtoolsd --cmd and accepts the 4-field first-release record", () => {
    const bin = stubBin(`${MAC_B};172.16.4.9;255.255.252.0;172.16.4.1`, "vmtoolsd");
    const root = tempDir("pe-root-");
    const r = runTool(ns, bin, root, "networkd");
    expect(r.stderr).toContain("done: 1 interface(s) configured");
    expect(r.status).toBe(0);
    expect(ipv4(ns, "eth1")).toEqual(["172.16.4.9/22"]);
    expect(defaultRoutes(ns)).toContain("172.16.4.1 dev eth1 metric 100");
  });

  test("a MAC with no interface is reported; the rest is applied", () => {
    const bin = stubBin(
      encodeMachineId([
        machineIdNicFromPrefix({ mac: "00:50:56:aa:00:99", ip: "10.9.9.9", prefix: 24 }),
        machineIdNicFromPrefix({ mac: MAC_A, ip: "10.20.0.15", prefix: 24, gateway: "10.20.0.1" }),
      ]),
    );
    const r = runTool(ns, bin, tempDir("pe-root-"), "networkd");
    expect(r.status).toBe(3);
    expect(r.stderr).toContain("record 0 skipped: no interface has MAC 00:50:56:aa:00:99");
    expect(defaultRoutes(ns)).toContain("10.20.0.1 dev eth0 metric 101");
  });

  test("nothing set: exit 0 quietly, nothing touched", () => {
    const before = JSON.stringify(ns.ipJson("-4", "addr"));
    const root = tempDir("pe-root-");
    for (const bin of [stubBin(undefined), tempDir("pe-empty-bin-")]) {
      const r = runTool(ns, bin, root, "networkd");
      expect(r.status).toBe(0);
      expect(r.stderr).toBe("");
    }
    expect(fs.readdirSync(root)).toEqual([]);
    expect(JSON.stringify(ns.ipJson("-4", "addr"))).toBe(before);
  });
});
