/** Finding a service endpoint in a Keystone v3 token's catalog. */

export interface CatalogEndpoint {
  url: string;
  interface: string;
  region_id?: string | null;
  region?: string | null;
}

export interface CatalogEntry {
  type: string;
  name?: string;
  endpoints: CatalogEndpoint[];
}

/**
 * The URL of the `iface` endpoint of the service of `type`, in `region` when given. Without a region, the
 * endpoints of several regions are ambiguous: the answer is then a problem naming them.
 */
export function findEndpoint(catalog: CatalogEntry[], type: string, iface: string, region?: string): string | { problem: string } {
  const services = catalog.filter((s) => s.type === type);
  if (!services.length) {
    return { problem: `the token's service catalog has no "${type}" service (types: ${catalog.map((s) => s.type).join(", ") || "none"})` };
  }
  const all = services.flatMap((s) => s.endpoints ?? []).filter((e) => e.interface === iface);
  const regionOf = (e: CatalogEndpoint): string => e.region_id ?? e.region ?? "";
  const matching = region ? all.filter((e) => regionOf(e) === region) : all;
  if (!matching.length) {
    const regions = [...new Set(all.map(regionOf))].join(", ") || "none";
    return { problem: `the "${type}" service has no ${iface} endpoint${region ? ` in region ${region}` : ""} (${iface} endpoints in regions: ${regions})` };
  }
  const urls = [...new Set(matching.map((e) => e.url))];
  if (urls.length > 1) {
    const regions = [...new Set(matching.map(regionOf))];
    if (regions.length > 1) {
      return { problem: `the "${type}" service has ${iface} endpoints in several regions (${regions.join(", ")}): set esx:keystoneRegion` };
    }
  }
  return urls[0];
}
