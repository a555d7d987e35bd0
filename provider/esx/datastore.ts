/**
 * Datastore paths ("[ds] dir/file"): the names FileManager, VirtualDiskManager and VM configurations use for
 * files. Datastores themselves (and the HostSystem) are read once, with the host's inventory (host.ts); no
 * vSphere method of theirs is called, so they have no wrapper.
 */

/** "[ds] rel/path" */
export function dsPath(datastore: string, rel: string): string {
  return `[${datastore}] ${rel}`;
}

/** Splits "[ds] rel/path" into its parts; undefined if it is not a datastore path. */
export function parseDsPath(p: string): { datastore: string; path: string } | undefined {
  const m = /^\s*\[([^\]]+)\]\s*(.*)$/.exec(p);
  return m ? { datastore: m[1], path: m[2].trim() } : undefined;
}

/** A datastore path with one space after the datastore name (the form the host reports), for comparisons. */
export function normalDsPath(p: string): string {
  return p.replace(/^\s*\[([^\]]+)\]\s*/, "[$1] ").trim();
}

/** The directory of a datastore path ("[ds] dir/file.vmx" -> "[ds] dir"); undefined for a file at the root. */
export function dsDirectory(p: string | null | undefined): string | undefined {
  const parts = parseDsPath(p ?? "");
  if (!parts || !parts.path.includes("/")) return undefined;
  return dsPath(parts.datastore, parts.path.slice(0, parts.path.lastIndexOf("/")));
}
