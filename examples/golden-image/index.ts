/**
 * pulumi-esx golden image: a builder VM from a Glance image, captured back into Glance (a snapshot, one
 * consolidated copy of its disk chain streamed as a streamOptimized VMDK, snapshot and copy removed), and a second
 * VM cloned from that golden image, placed on the datastore by a second EsxImage.
 *
 *   pulumi config set esx:host esx1.example.com
 *   pulumi config set --secret esx:password ...
 *   pulumi config set esx:thumbprint AA:BB:...      # the host's self-signed certificate
 *   pulumi config set esx:glanceUrl http://glance.example.com:9292
 *   pulumi config set glanceImageId 3f0c...         # the base image
 *   pulumi config set goldenName golden-v1          # optional
 *   pulumi up
 *
 * Capturing happens once, when the golden EsxImage is created (and again only when it is replaced: another
 * builder VM or another Glance name). Destroying the stack deletes the golden Glance image too.
 */
import * as pulumi from "@pulumi/pulumi";
import { EsxImage, EsxInstance, GuestNetwork } from "pulumi-esx";

export = async () => {
  const config = new pulumi.Config();

  const lan = new GuestNetwork("lan", {
    portGroup: "golden-lan",
    cidr: "10.40.0.0/24",
    gateway: "10.40.0.1",
    allocationRange: { start: "10.40.0.50", end: "10.40.0.99" },
  });

  // The base image and the VM that is prepared (by cloud-init here) and then captured.
  const base = new EsxImage("base", { glanceImageId: config.require("glanceImageId") });
  const builder = new EsxInstance("builder", {
    name: "golden-builder",
    image: base,
    cpus: 1,
    memoryMb: 512,
    networks: [{ network: lan, ip: "auto" }],
    userData: "#cloud-config\npackages: [nginx]\n",
  });

  // The builder's disk captured into a new Glance image: only a Glance image, nothing stays on the datastore.
  const golden = new EsxImage("golden", {
    captureFrom: builder,
    glance: { name: config.get("goldenName") ?? "golden-v1", visibility: "private", properties: { os_distro: "ubuntu" } },
  });

  // To clone VMs from the golden image, place it on the datastore like any Glance image.
  const goldenDisk = new EsxImage("golden-disk", { glanceImageId: golden.glanceImageId });
  const web = new EsxInstance("web", {
    name: "golden-web",
    image: goldenDisk,
    cpus: 1,
    memoryMb: 512,
    networks: [{ network: lan, ip: "auto" }],
  });

  return {
    goldenImageId: golden.glanceImageId,
    goldenChecksum: golden.checksum,
    goldenDiskPath: goldenDisk.datastorePath,
    builder: { name: builder.name, networks: builder.networks },
    web: { name: web.name, powerState: web.powerState, networks: web.networks },
  };
};
