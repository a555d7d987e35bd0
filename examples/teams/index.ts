/**
 * pulumi-esx teams: one program, one stack per team. Each stack's Pulumi.<team>.yaml names the team's ESX host
 * (esx:host, esx:password as a secure value), its network (port group, VLAN, subnet) and its VMs; every team
 * boots the same Glance image, placed once per host and datastore (stacks on the same host share that copy).
 *
 *   export PULUMI_CONFIG_PASSPHRASE=...            # the passphrase of the stack files' secure values
 *   pulumi stack select team-a
 *   pulumi config set --secret esx:password ...    # replaces the example value
 *   pulumi config set glanceImageId 3f0c...
 *   pulumi up
 */
import * as pulumi from "@pulumi/pulumi";
import { EsxImage, EsxInstance, GuestNetwork } from "pulumi-esx";

/** `network` in Pulumi.<team>.yaml. */
interface TeamNetwork {
  portGroup: string;
  vlanId: number;
  cidr: string;
  gateway: string;
  dnsServers?: string[];
  allocationRange: { start: string; end: string };
}

/** `instances` in Pulumi.<team>.yaml: how many VMs and their size. */
interface TeamInstances {
  count: number;
  cpus: number;
  memoryMb: number;
  diskGb?: number;
}

export = async () => {
  const config = new pulumi.Config();
  const team = pulumi.getStack();
  const net = config.requireObject<TeamNetwork>("network");
  const size = config.requireObject<TeamInstances>("instances");

  const lan = new GuestNetwork("lan", {
    portGroup: net.portGroup,
    vlanId: net.vlanId,
    cidr: net.cidr,
    gateway: net.gateway,
    dnsServers: net.dnsServers ?? [],
    allocationRange: net.allocationRange,
  });

  const image = new EsxImage("base", { glanceImageId: config.require("glanceImageId") });

  const vms = Array.from(
    { length: size.count },
    (_, i) =>
      new EsxInstance(`vm-${i + 1}`, {
        name: `${team}-vm-${i + 1}`,
        image,
        cpus: size.cpus,
        memoryMb: size.memoryMb,
        diskGb: size.diskGb,
        networks: [{ network: lan, ip: "auto" }],
        powerState: "on",
      }),
  );

  return {
    team,
    portGroup: lan.portGroup,
    vlanId: lan.vlanId,
    subnet: lan.cidr,
    imagePath: image.datastorePath,
    vms: vms.map((vm) => ({ name: vm.name, ip: vm.networks.apply((n) => n[0]?.ip ?? null) })),
  };
};
