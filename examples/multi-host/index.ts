/**
 * pulumi-esx multi-host: one program, several standalone ESX hosts. The provider config `esx:hosts` maps an
 * alias to each host's connection (host, username, thumbprint; password from esx:password or per host), and
 * every resource says which host it belongs to with its `host` input (an alias). Here `sites` in
 * Pulumi.<stack>.yaml gives each alias its network; each host gets the port group, its own copy of the Glance
 * image and one VM booted from that copy (an instance must use an image on its own host).
 *
 *   export PULUMI_CONFIG_PASSPHRASE=...
 *   pulumi config set --path 'esx:hosts.east.host' esx-east.example.com
 *   pulumi config set --path 'esx:hosts.east.thumbprint' AA:BB:...
 *   pulumi config set --secret esx:password ...     # shared; or --secret --path 'esx:hosts.east.password'
 *   pulumi config set glanceImageId 3f0c...
 *   pulumi up
 */
import * as pulumi from "@pulumi/pulumi";
import { EsxImage, EsxInstance, GuestNetwork } from "pulumi-esx";

/** One entry of `sites`: the network on that host. Keys of `sites` are aliases from esx:hosts. */
interface Site {
  vlanId: number;
  cidr: string;
  gateway: string;
  allocationRange: { start: string; end: string };
}

export = async () => {
  const config = new pulumi.Config();
  const sites = config.requireObject<Record<string, Site>>("sites");
  const glanceImageId = config.require("glanceImageId");

  const perHost = Object.entries(sites).map(([alias, site]) => {
    const lan = new GuestNetwork(`${alias}-lan`, {
      host: alias,
      portGroup: "app-lan", // the same name on every host: port groups are per host
      vlanId: site.vlanId,
      cidr: site.cidr,
      gateway: site.gateway,
      allocationRange: site.allocationRange,
    });
    const image = new EsxImage(`${alias}-base`, { host: alias, glanceImageId });
    const vm = new EsxInstance(`${alias}-app`, {
      host: alias,
      name: `app-${alias}`,
      image,
      cpus: 1,
      memoryMb: 512,
      networks: [{ network: lan, ip: "auto" }],
    });
    return { alias, lan, image, vm };
  });

  return {
    hosts: perHost.map(({ alias, image, vm }) => ({
      host: alias,
      imagePath: image.datastorePath,
      vm: vm.name,
      ip: vm.networks.apply((n) => n[0]?.ip ?? null),
    })),
  };
};
