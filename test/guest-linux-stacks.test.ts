/**
 * The Linux guest tool on fake guest systems, with the guest's own network stack applying what it persisted.
 *
 * Each guest is a directory entered with chroot inside a network namespace made for the test
 * (test/fixtures/guest/guest-root.ts): its /etc is its own, its programs are this machine's Debian packages
 * (netplan.io, ifupdown, systemd-networkd). The tool runs there on its live root and detects the stack as at boot;
 * then the stack starts as systemd would start it after the tool (systemd-networkd; networking.service's
 * `ifup -a`), and the interfaces, routes and DNS that result are checked. A "reboot" (fresh namespace, empty /run)
 * shows that the persisted configuration alone brings the interfaces up. systemd is not PID 1 here, so
 * `netplan apply` cannot run (it calls `systemctl daemon-reload`, `udevadm trigger` and restarts
 * systemd-networkd); what it would do is done step by step: `netplan generate`, then systemd-networkd.
 *
 * The last part checks stack detection on fake roots (PULUMI_ESX_GUEST_ROOT) for more guest families.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { execFileSync } from "node:child_process";
import { encodeMachineId, machineIdNicFromPrefix } from "../provider/guest/machine-id";
import { GuestRoot, stopAllDaemons, waitFor } from "./fixtures/guest/guest-root";
import { defaultRoutes, ipv4, parseIni } from "./fixtures/guest/inspect";
import { createNetns, deleteCreatedNetns, Netns } from "./fixtures/guest/netns";

const TOOL = path.resolve(__dirname, "..", "provider", "guest", "tool", "linux", "pulumi-esx-guest.sh");
const MAC_A = "00:50:56:aa:00:01";
const MAC_B = "00:50:56:aa:00:02";
const MAC_C = "00:50:56:aa:00:03";

const MACHINE_ID = encodeMachineId([
  machineIdNicFromPrefix({ mac: MAC_A, ip: "10.20.0.15", prefix: 24, gateway: "10.20.0.1", dns: ["10.20.0.2", "9.9.9.9"] }),
  machineIdNicFromPrefix({ mac: MAC_B, ip: "172.16.4.9", prefix: 22, dns: ["172.16.4.1", "9.9.9.9"] }),
]);

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "pe-guests-"));
fs.chmodSync(tmp, 0o755); // systemd-networkd drops to its own user and must reach the guest's /run

afterAll(async () => {
  await stopAllDaemons();
  deleteCreatedNetns();
  fs.rmSync(tmp, { recursive: true, force: true });
});

/**
 * A namespace as the guest sees its NICs at boot: eth0 and eth1 carry machine.id's MACs (eth1 with an address
 * from elsewhere on the first boot), eth2 is not named in machine.id and has an address that must survive.
 */
function bootNs(opts: { strayAddress: boolean }): Netns {
  const ns = createNetns();
  ns.addNic("eth0", MAC_A);
  ns.addNic("eth1", MAC_B, opts.strayAddress ? "192.0.2.9/24" : undefined);
  ns.addNic("eth2", MAC_C, "198.51.100.7/24");
  return ns;
}

function expectMachineIdApplied(ns: Netns): void {
  expect(ipv4(ns, "eth0")).toEqual(["10.20.0.15/24"]);
  expect(ipv4(ns, "eth1")).toEqual(["172.16.4.9/22"]);
  expect(ipv4(ns, "eth2")).toEqual(["198.51.100.7/24"]);
  expect(defaultRoutes(ns)).toEqual(["10.20.0.1 dev eth0 metric 100"]);
  expect(ns.ipJson("-4", "addr", "show", "dev", "eth0")[0].addr_info[0].broadcast).toBe("10.20.0.255");
}

/** IPv4 addresses and routes of the NICs (not lo, which `ifup -a` brings up). */
function netState(ns: Netns): string {
  return JSON.stringify([ns.ipJson<any[]>("-4", "addr").filter((l) => l.ifname !== "lo"), ns.ipJson("-4", "route")]);
}

/**
 * netplan (>= 0.106) matches `macaddress:` with networkd's PermanentMACAddress=, the MAC the NIC was made with.
 * A VMware vmxnet3/e1000 NIC has one (the MAC pulumi-esx gave it); a veth has none (the kernel reports zeros), so
 * networkd would match nothing here. This checks that each generated .network matches exactly the expected
 * permanent MAC and turns that one key into MACAddress= (same value) for the veth; nothing else is changed.
 */
function matchVethByMac(g: GuestRoot, expected: Record<string, string>): void {
  const dir = g.path("run/systemd/network");
  const files = fs.readdirSync(dir).filter((f) => f.endsWith(".network"));
  expect(files.sort()).toEqual(Object.keys(expected).sort());
  for (const f of files) {
    const text = fs.readFileSync(path.join(dir, f), "utf8");
    expect(parseIni(text).Match.PermanentMACAddress).toEqual([expected[f]]);
    fs.writeFileSync(path.join(dir, f), text.replace(/^PermanentMACAddress=/m, "MACAddress="));
  }
}

/**
 * Starts systemd-networkd in the guest, waits until it has configured eth0 and eth1 from `networkFiles` (its
 * link state names the file, lists the DNS servers, and the address and route are in place), checks the
 * result, and stops it.
 */
async function networkdApplies(g: GuestRoot, ns: Netns, networkFiles: { eth0: string; eth1: string }): Promise<void> {
  const d = g.startNetworkd(ns);
  try {
    const state = (ifname: string) => g.networkdLinkState(ns, ifname);
    await waitFor(
      "systemd-networkd to configure eth0 and eth1",
      () => {
        const s0 = state("eth0");
        const s1 = state("eth1");
        const ready =
          s0?.NETWORK_FILE === networkFiles.eth0 &&
          s1?.NETWORK_FILE === networkFiles.eth1 &&
          s0.DNS !== undefined &&
          s1.DNS !== undefined &&
          ipv4(ns, "eth0").includes("10.20.0.15/24") &&
          ipv4(ns, "eth1").includes("172.16.4.9/22") &&
          defaultRoutes(ns).length > 0;
        return ready || undefined;
      },
      30000,
      () => `networkd output:\n${d.output}\neth0: ${JSON.stringify(state("eth0"))}\neth1: ${JSON.stringify(state("eth1"))}\n${ns.ip("addr")}`,
    );
    expect(d.alive).toBe(true);
    expectMachineIdApplied(ns);
    expect(ns.ipJson<any[]>("-4", "route", "show", "default")[0].protocol).toBe("static");
    expect(state("eth0")!.DNS).toBe("10.20.0.2 9.9.9.9");
    expect(state("eth1")!.DNS).toBe("172.16.4.1 9.9.9.9");
    expect(state("eth2")!.ADMIN_STATE).toBe("unmanaged");
    expect(d.output).not.toMatch(/failed|error/i);
  } finally {
    await d.stop();
  }
}

describe("netplan guest (Ubuntu-like): the tool's YAML, rendered by Debian's netplan.io, applied by systemd-networkd", () => {
  let g: GuestRoot;
  beforeAll(() => {
    g = GuestRoot.create(path.join(tmp, "netplan"));
    // What cloud-init writes on an Ubuntu cloud image: DHCP on the first NIC, matched by MAC.
    g.write(
      "etc/netplan/50-cloud-init.yaml",
      `network:\n  version: 2\n  ethernets:\n    eth0:\n      dhcp4: true\n      match:\n        macaddress: "${MAC_A}"\n      set-name: eth0\n`,
      0o600,
    );
    g.enable("systemd-networkd.service");
    g.enable("systemd-resolved.service", "sysinit.target");
    g.link("etc/resolv.conf", "../run/systemd/resolve/stub-resolv.conf"); // dangling until resolved starts
    g.setMachineId(MACHINE_ID);
  });

  test("boot: the tool detects netplan, writes its YAML and runs netplan generate; systemd-networkd applies the result", async () => {
    const ns = bootNs({ strayAddress: true });
    const r = g.tool(ns);
    expect(r.stderr).toContain("done: 2 interface(s) configured");
    expect(r.stderr).toContain("(stack netplan, dns resolved)");
    expect(r.status).toBe(0);
    expect(fs.readdirSync(g.path("etc/netplan")).sort()).toEqual(["50-cloud-init.yaml", "60-pulumi-esx-eth0.yaml", "60-pulumi-esx-eth1.yaml"]);
    // The resolver link stays: DNS reaches systemd-resolved through networkd's configuration.
    expect(fs.readlinkSync(g.path("etc/resolv.conf"))).toBe("../run/systemd/resolve/stub-resolv.conf");

    // The tool ran `netplan generate` on the guest's live root. cloud-init's DHCP for eth0 is overridden
    // (same netplan id: the later file wins), so the address is static and no DHCP client runs.
    const eth0 = parseIni(g.read("run/systemd/network/10-netplan-eth0.network"));
    expect(eth0.Match).toEqual({ PermanentMACAddress: [MAC_A], Name: ["eth0"] });
    expect(eth0.Network.Address).toEqual(["10.20.0.15/24"]);
    expect(eth0.Network.DNS).toEqual(["10.20.0.2", "9.9.9.9"]);
    expect(eth0.Network.DHCP).toBeUndefined();
    expect(eth0.Route).toEqual({ Destination: ["0.0.0.0/0"], Gateway: ["10.20.0.1"], Metric: ["100"] });
    const eth1 = parseIni(g.read("run/systemd/network/10-netplan-eth1.network"));
    expect(eth1.Network.Address).toEqual(["172.16.4.9/22"]);
    expect(eth1.Route).toBeUndefined();

    matchVethByMac(g, { "10-netplan-eth0.network": MAC_A, "10-netplan-eth1.network": MAC_B });
    await networkdApplies(g, ns, { eth0: "/run/systemd/network/10-netplan-eth0.network", eth1: "/run/systemd/network/10-netplan-eth1.network" });

    // The next boot-time run finds everything as machine.id says.
    const before = g.etcSnapshot();
    const net = netState(ns);
    const again = g.tool(ns);
    expect(again.stderr).toContain("nothing to do: 2 interface(s) already as machine.id says (stack netplan, dns resolved)");
    expect(again.status).toBe(0);
    expect(g.etcSnapshot()).toEqual(before);
    expect(netState(ns)).toBe(net);
  });

  test("reboot: netplan generate --root-dir (as netplan's systemd generator does at boot) and systemd-networkd alone apply it", async () => {
    g.clearRun();
    const ns = bootNs({ strayAddress: false });
    execFileSync("netplan", ["generate", "--root-dir", g.dir]);
    matchVethByMac(g, { "10-netplan-eth0.network": MAC_A, "10-netplan-eth1.network": MAC_B });
    await networkdApplies(g, ns, { eth0: "/run/systemd/network/10-netplan-eth0.network", eth1: "/run/systemd/network/10-netplan-eth1.network" });
  });
});

describe("ifupdown guest (Debian-like): the tool's stanzas brought up by Debian's ifup", () => {
  let g: GuestRoot;
  let ns: Netns;
  const ifquery = (n: Netns) => g.run(n, ["ifquery", "--state"]).stdout.trim().split("\n").filter(Boolean).sort();
  beforeAll(() => {
    g = GuestRoot.create(path.join(tmp, "ifupdown"));
    // What the Debian installer writes, and the hook directories with the hooks the ifupdown package ships
    // (not whatever else this machine has put there).
    g.write(
      "etc/network/interfaces",
      "source /etc/network/interfaces.d/*\n\n# The loopback network interface\nauto lo\niface lo inet loopback\n\n# The primary network interface\nallow-hotplug eth0\niface eth0 inet dhcp\n",
    );
    fs.mkdirSync(g.path("etc/network/interfaces.d"));
    for (const f of execFileSync("dpkg", ["-L", "ifupdown"], { encoding: "utf8" }).split("\n")) {
      if (!/^\/etc\/network\/if-[a-z-]+\.d/.test(f)) continue;
      if (fs.statSync(f).isDirectory()) fs.mkdirSync(g.path(f), { recursive: true });
      else {
        fs.copyFileSync(f, g.path(f));
        fs.chmodSync(g.path(f), fs.statSync(f).mode);
      }
    }
    expect(fs.readdirSync(g.path("etc/network/if-up.d"))).toEqual(["resolved"]);
    g.enable("networking.service");
    g.enable("networking.service", "network-online.target");
    g.write("etc/resolv.conf", "domain example.internal\nsearch example.internal\nnameserver 192.0.2.53\n");
    g.setMachineId(MACHINE_ID);
  });

  test("boot: the tool detects ifupdown, persists and brings the NICs up with ifup; networking.service's ifup -a then succeeds", () => {
    ns = bootNs({ strayAddress: true });
    const r = g.tool(ns);
    expect(r.stderr).toContain("(stack ifupdown, dns resolvconf)");
    expect(r.stderr).toContain("eth0: ifup");
    expect(r.stderr).toContain("eth1: ifup");
    expect(r.stderr).toContain("eth1: removed address 192.0.2.9/24");
    expect(r.status).toBe(0);
    expectMachineIdApplied(ns);
    expect(ifquery(ns)).toEqual(["eth0=eth0", "eth1=eth1"]);
    expect(g.read("etc/resolv.conf")).toBe(
      "# Written by pulumi-esx-guest from machine.id\nnameserver 10.20.0.2\nnameserver 9.9.9.9\nnameserver 172.16.4.1\ndomain example.internal\nsearch example.internal\n",
    );
    expect(g.read("etc/network/interfaces")).toContain("#pulumi-esx-guest# iface eth0 inet dhcp");

    // networking.service runs after the tool. Had the tool added the addresses itself, ifup would fail here
    // with "Address already assigned" and leave eth0 down in ifupdown's eyes.
    const net = netState(ns);
    const up = g.run(ns, ["ifup", "-a", "--read-environment"]);
    expect(up.stderr).toBe("");
    expect(up.status).toBe(0);
    expect(ifquery(ns)).toEqual(["eth0=eth0", "eth1=eth1", "lo=lo"]);
    expect(netState(ns)).toBe(net);
  });

  test("a second run changes nothing", () => {
    const before = g.etcSnapshot();
    const net = netState(ns);
    const r = g.tool(ns);
    expect(r.stderr).toContain("nothing to do: 2 interface(s) already as machine.id says (stack ifupdown, dns resolvconf)");
    expect(r.status).toBe(0);
    expect(g.etcSnapshot()).toEqual(before);
    expect(netState(ns)).toBe(net);
  });

  test("reboot: networking.service's ifup -a alone brings up the persisted configuration, and the tool then finds nothing to do", () => {
    g.clearRun();
    ns = bootNs({ strayAddress: false });
    const up = g.run(ns, ["ifup", "-a", "--read-environment"]);
    expect(up.stderr).toBe("");
    expect(up.status).toBe(0);
    expectMachineIdApplied(ns);
    expect(ifquery(ns)).toEqual(["eth0=eth0", "eth1=eth1", "lo=lo"]);
    const r = g.tool(ns);
    expect(r.stderr).toContain("nothing to do: 2 interface(s)");
    expect(r.status).toBe(0);
  });

  test("a changed machine.id: ifdown with the old stanza, new stanza, ifup; the other NIC is not touched", () => {
    g.setMachineId(
      encodeMachineId([
        machineIdNicFromPrefix({ mac: MAC_A, ip: "10.20.0.16", prefix: 25, gateway: "10.20.0.126", dns: ["10.20.0.2"] }),
        machineIdNicFromPrefix({ mac: MAC_B, ip: "172.16.4.9", prefix: 22, dns: ["172.16.4.1", "9.9.9.9"] }),
      ]),
    );
    const r = g.tool(ns);
    expect(r.stderr).toContain("eth0: ifdown (its configuration changes)");
    expect(r.stderr).toContain("eth0: ifup");
    expect(r.stderr).not.toContain("eth1:");
    expect(r.status).toBe(0);
    expect(ipv4(ns, "eth0")).toEqual(["10.20.0.16/25"]);
    expect(ipv4(ns, "eth1")).toEqual(["172.16.4.9/22"]);
    expect(defaultRoutes(ns)).toEqual(["10.20.0.126 dev eth0 metric 100"]);
    expect(ifquery(ns)).toEqual(["eth0=eth0", "eth1=eth1", "lo=lo"]);
    expect(g.read("etc/network/interfaces.d/pulumi-esx-eth0")).toContain("address 10.20.0.16/25\n    gateway 10.20.0.126\n");
    expect(g.run(ns, ["ifup", "-a", "--read-environment"]).status).toBe(0);
    g.setMachineId(MACHINE_ID);
  });
});

describe("networkd guest: the tool's .network files applied by systemd-networkd", () => {
  let g: GuestRoot;
  beforeAll(() => {
    g = GuestRoot.create(path.join(tmp, "networkd"));
    // A Debian that moved from ifupdown to systemd-networkd: ifup is still installed (this machine's /usr)
    // and the interfaces file is still there, but networking.service is not enabled and networkd is.
    g.write("etc/network/interfaces", "source /etc/network/interfaces.d/*\nauto lo\niface lo inet loopback\n");
    g.enable("systemd-networkd.service");
    fs.mkdirSync(g.path("etc/systemd/network"));
    g.write("etc/resolv.conf", "nameserver 192.0.2.53\n");
    g.setMachineId(MACHINE_ID);
  });

  test("boot: the tool detects networkd and persists; systemd-networkd applies its files", async () => {
    const ns = bootNs({ strayAddress: true });
    const r = g.tool(ns);
    expect(r.stderr).toContain("(stack networkd, dns resolvconf)");
    expect(r.status).toBe(0);
    expect(fs.readdirSync(g.path("etc/systemd/network")).sort()).toEqual(["10-pulumi-esx-eth0.network", "10-pulumi-esx-eth1.network"]);
    expect(g.read("etc/network/interfaces")).toBe("source /etc/network/interfaces.d/*\nauto lo\niface lo inet loopback\n");
    await networkdApplies(g, ns, { eth0: "/etc/systemd/network/10-pulumi-esx-eth0.network", eth1: "/etc/systemd/network/10-pulumi-esx-eth1.network" });
    const before = g.etcSnapshot();
    const again = g.tool(ns);
    expect(again.stderr).toContain("nothing to do: 2 interface(s) already as machine.id says (stack networkd, dns resolvconf)");
    expect(g.etcSnapshot()).toEqual(before);
  });

  test("reboot: systemd-networkd alone applies the persisted files", async () => {
    g.clearRun();
    const ns = bootNs({ strayAddress: false });
    await networkdApplies(g, ns, { eth0: "/etc/systemd/network/10-pulumi-esx-eth0.network", eth1: "/etc/systemd/network/10-pulumi-esx-eth1.network" });
  });
});

describe("stack detection on fake roots (PULUMI_ESX_GUEST_ROOT)", () => {
  let ns: Netns;
  let bin: string;
  beforeAll(() => {
    ns = createNetns();
    ns.addNic("eth0", MAC_A);
    ns.addNic("eth1", MAC_B);
    bin = path.join(tmp, "stub-bin");
    fs.mkdirSync(bin);
    fs.writeFileSync(path.join(bin, "vmware-rpctool"), `#!/bin/sh\n[ "$1" = "machine.id.get" ] || exit 1\necho '${MACHINE_ID}'\n`, { mode: 0o755 });
  });
  afterAll(() => ns.delete());

  const PERSISTED = {
    netplan: ["etc/netplan/60-pulumi-esx-eth0.yaml", "etc/netplan/60-pulumi-esx-eth1.yaml"],
    networkmanager: [
      "etc/NetworkManager/system-connections/pulumi-esx-eth0.nmconnection",
      "etc/NetworkManager/system-connections/pulumi-esx-eth1.nmconnection",
    ],
    ifupdown: ["etc/network/interfaces.d/pulumi-esx-eth0", "etc/network/interfaces.d/pulumi-esx-eth1"],
    networkd: ["etc/systemd/network/10-pulumi-esx-eth0.network", "etc/systemd/network/10-pulumi-esx-eth1.network"],
  };
  type Stack = keyof typeof PERSISTED;

  /** A fake root: programs are empty marker files (under a fake root the tool runs none of the guest's programs). */
  function fakeRoot(name: string, build: (r: FakeRoot) => void): string {
    const dir = path.join(tmp, `fake-${name.replace(/[^a-z0-9]+/gi, "-")}`);
    fs.mkdirSync(dir);
    build(new FakeRoot(dir));
    return dir;
  }
  class FakeRoot {
    constructor(readonly dir: string) {}
    file(rel: string, content = "") {
      fs.mkdirSync(path.dirname(path.join(this.dir, rel)), { recursive: true });
      fs.writeFileSync(path.join(this.dir, rel), content);
    }
    dir_(rel: string) {
      fs.mkdirSync(path.join(this.dir, rel), { recursive: true });
    }
    program(p: string) {
      this.file(p, "#!/bin/sh\nexit 99\n");
      fs.chmodSync(path.join(this.dir, p), 0o755);
    }
    link(rel: string, target: string) {
      fs.mkdirSync(path.dirname(path.join(this.dir, rel)), { recursive: true });
      fs.symlinkSync(target, path.join(this.dir, rel));
    }
    enable(unit: string, wantedBy = "multi-user.target") {
      this.link(`etc/systemd/system/${wantedBy}.wants/${unit}`, `/lib/systemd/system/${unit}`);
    }
  }

  /** Every file and link under a root: content or link target, and mtime. */
  function snapshot(root: string): Record<string, string> {
    const out: Record<string, string> = {};
    const walk = (d: string) => {
      for (const e of fs.readdirSync(d, { withFileTypes: true })) {
        const p = path.join(d, e.name);
        if (e.isSymbolicLink()) out[path.relative(root, p)] = `-> ${fs.readlinkSync(p)}`;
        else if (e.isDirectory()) walk(p);
        else out[path.relative(root, p)] = `${fs.statSync(p, { bigint: true }).mtimeNs} ${fs.readFileSync(p, "utf8")}`;
      }
    };
    walk(root);
    return out;
  }

  const ifupdownDebian = (r: FakeRoot) => {
    r.program("usr/sbin/ifup");
    r.file("etc/network/interfaces", "source /etc/network/interfaces.d/*\nauto lo\niface lo inet loopback\nallow-hotplug eth0\niface eth0 inet dhcp\n");
    r.enable("networking.service");
  };
  const resolvedLink = (r: FakeRoot) => {
    r.enable("systemd-resolved.service", "sysinit.target");
    r.link("etc/resolv.conf", "../run/systemd/resolve/stub-resolv.conf");
  };

  const cases: { name: string; build: (r: FakeRoot) => void; stack: Stack; dns: "resolved" | "stack" | "resolvconf" }[] = [
    {
      name: "Ubuntu server: netplan with cloud-init's YAML, networkd, resolved",
      build: (r) => {
        r.program("usr/sbin/netplan");
        r.file("etc/netplan/50-cloud-init.yaml", "network: {version: 2}\n");
        r.enable("systemd-networkd.service");
        resolvedLink(r);
      },
      stack: "netplan",
      dns: "resolved",
    },
    {
      name: "Ubuntu desktop: netplan rendering for NetworkManager, which is enabled too",
      build: (r) => {
        r.program("usr/sbin/netplan");
        r.program("usr/sbin/NetworkManager");
        r.file("etc/netplan/01-network-manager-all.yaml", "network: {version: 2, renderer: NetworkManager}\n");
        r.enable("NetworkManager.service");
        resolvedLink(r);
      },
      stack: "netplan",
      dns: "resolved",
    },
    {
      name: "Fedora/RHEL: NetworkManager enabled, not yet running; resolv.conf is NetworkManager's",
      build: (r) => {
        r.program("usr/sbin/NetworkManager");
        r.enable("NetworkManager.service");
        r.link("etc/resolv.conf", "/run/NetworkManager/resolv.conf");
      },
      stack: "networkmanager",
      dns: "stack",
    },
    {
      name: "NetworkManager running but not enabled",
      build: (r) => {
        r.program("usr/sbin/NetworkManager");
        r.dir_("run/NetworkManager");
        ifupdownDebian(r);
      },
      stack: "networkmanager",
      dns: "resolvconf",
    },
    {
      name: "Debian 12: ifupdown from the installer, plain resolv.conf",
      build: (r) => {
        ifupdownDebian(r);
        r.file("etc/resolv.conf", "search example.internal\nnameserver 192.0.2.53\n");
      },
      stack: "ifupdown",
      dns: "resolvconf",
    },
    {
      name: "Debian with netplan.io installed but not configured, and NetworkManager installed but off",
      build: (r) => {
        r.program("usr/sbin/netplan");
        r.dir_("etc/netplan");
        r.program("usr/sbin/NetworkManager");
        ifupdownDebian(r);
      },
      stack: "ifupdown",
      dns: "resolvconf",
    },
    {
      name: "Debian with ifupdown and the resolvconf package",
      build: (r) => {
        ifupdownDebian(r);
        r.link("etc/resolv.conf", "../run/resolvconf/resolv.conf");
      },
      stack: "ifupdown",
      dns: "stack",
    },
    {
      name: "Debian without systemd (sysvinit): ifupdown",
      build: (r) => {
        r.program("usr/sbin/ifup");
        r.file("etc/network/interfaces", "auto lo\niface lo inet loopback\n");
        r.link("etc/rc2.d/S01networking", "../init.d/networking");
      },
      stack: "ifupdown",
      dns: "resolvconf",
    },
    {
      name: "ifupdown installed, but systemd-networkd enabled instead of networking.service",
      build: (r) => {
        r.program("usr/sbin/ifup");
        r.file("etc/network/interfaces", "auto lo\niface lo inet loopback\n");
        r.enable("systemd-networkd.service");
        resolvedLink(r);
      },
      stack: "networkd",
      dns: "resolved",
    },
    {
      name: "only systemd-networkd",
      build: (r) => r.enable("systemd-networkd.service"),
      stack: "networkd",
      dns: "resolvconf",
    },
  ];

  test.each(cases)("$name -> $stack, DNS $dns; a second run changes nothing", ({ name, build, stack, dns }) => {
    const root = fakeRoot(name, build);
    const before = snapshot(root);
    const env = { PATH: `${bin}:/usr/sbin:/usr/bin:/sbin:/bin`, PULUMI_ESX_GUEST_ROOT: root };
    const r = ns.exec(["sh", TOOL], env);
    expect(r.stderr).toContain(`interface(s) configured`);
    expect(r.stderr).toContain(`(stack ${stack}, dns ${dns})`);
    expect(r.status).toBe(0);
    const after = snapshot(root);
    const added = Object.keys(after).filter((f) => !(f in before));
    const changed = Object.keys(before).filter((f) => after[f] !== before[f]);
    const resolv = dns === "resolvconf" ? ["etc/resolv.conf"] : [];
    expect(added.sort()).toEqual([...PERSISTED[stack], ...resolv.filter((f) => !(f in before))].sort());
    expect(changed.sort()).toEqual([...(stack === "ifupdown" ? ["etc/network/interfaces"] : []), ...resolv.filter((f) => f in before)].sort());
    if (dns !== "resolvconf") expect(after["etc/resolv.conf"]).toBe(before["etc/resolv.conf"]);
    else expect(after["etc/resolv.conf"]).toContain("nameserver 10.20.0.2\nnameserver 9.9.9.9\nnameserver 172.16.4.1");

    const again = ns.exec(["sh", TOOL], env);
    expect(again.stderr).toContain(`nothing to do: 2 interface(s) already as machine.id says (stack ${stack}, dns ${dns})`);
    expect(again.status).toBe(0);
    expect(snapshot(root)).toEqual(after);
  });

  test("PULUMI_ESX_GUEST_STACK and PULUMI_ESX_GUEST_DNS override detection", () => {
    const root = fakeRoot("override", ifupdownDebian);
    const r = ns.exec(["sh", TOOL], {
      PATH: `${bin}:/usr/sbin:/usr/bin:/sbin:/bin`,
      PULUMI_ESX_GUEST_ROOT: root,
      PULUMI_ESX_GUEST_STACK: "networkd",
      PULUMI_ESX_GUEST_DNS: "stack",
    });
    expect(r.stderr).toContain("(stack networkd, dns stack)");
    expect(fs.existsSync(path.join(root, PERSISTED.networkd[0]))).toBe(true);
    expect(fs.existsSync(path.join(root, "etc/network/interfaces.d"))).toBe(false);
    expect(fs.existsSync(path.join(root, "etc/resolv.conf"))).toBe(false);
  });
});
