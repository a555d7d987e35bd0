/**
 * pulumi-esx quickstart: a VLAN-backed port group with its subnet, a Glance image placed once on the host's
 * datastore, and two VMs linked-cloned from it with addresses allocated from the subnet.
 *
 *   pulumi config set esx:host esx1.example.com
 *   pulumi config set --secret esx:password ...
 *   pulumi config set esx:thumbprint AA:BB:...      # the host's self-signed certificate
 *   pulumi config set esx:glanceUrl http://glance.example.com:9292
 *   pulumi config set glanceImageId 3f0c...
 *   pulumi up
 */
import * as pulumi from "@pulumi/pulumi";
import { EsxImage, EsxInstance, GuestNetwork } from "pulumi-esx";

export = async () => {
  const config = new pulumi.Config();

  const lan = new GuestNetwork("lan", {
    portGroup: "quickstart-lan",
    vlanId: 100,
    cidr: "10.10.10.0/24",
    gateway: "10.10.10.1",
    dnsServers: ["10.10.10.2"],
    allocationRange: { start: "10.10.10.50", end: "10.10.10.99" },
  });

  const image = new EsxImage("base", { glanceImageId: config.require("glanceImageId") });

  const web = [1, 2].map(
    (i) =>
      new EsxInstance(`web-${i}`, {
        name: `quickstart-web-${i}`,
        image,
        cpus: 1,
        memoryMb: 512,
        networks: [{ network: lan, ip: "auto" }],
        powerState: "on",
      }),
  );

  return {
    portGroup: lan.portGroup,
    vlanId: lan.vlanId,
    imagePath: image.datastorePath,
    instances: web.map((w) => ({ name: w.name, powerState: w.powerState, networks: w.networks })),
  };
};
