/**
 * The guest tools shipped in provider/guest/tool/ (see package.json "files"), with install instructions, and a
 * #cloud-config user-data document that installs the Linux tool (for delivery through guestinfo.userdata).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as YAML from "yaml";
import { packageRoot } from "../paths";

export type GuestFamily = "linux" | "windows";

export interface GuestToolFile {
  /** File name as shipped. */
  name: string;
  /** Where the install instructions put it in the guest. */
  installPath: string;
  mode: string;
  content: string;
}

function toolDir(family: GuestFamily): string {
  return path.join(packageRoot(), "provider", "guest", "tool", family);
}

export function guestToolFiles(family: GuestFamily): GuestToolFile[] {
  const read = (name: string) => fs.readFileSync(path.join(toolDir(family), name), "utf8");
  if (family === "linux")
    return [
      { name: "pulumi-esx-guest.sh", installPath: "/usr/local/sbin/pulumi-esx-guest", mode: "0755", content: read("pulumi-esx-guest.sh") },
      {
        name: "pulumi-esx-guest.service",
        installPath: "/etc/systemd/system/pulumi-esx-guest.service",
        mode: "0644",
        content: read("pulumi-esx-guest.service"),
      },
    ];
  return [
    { name: "pulumi-esx-guest.ps1", installPath: "C:\\Program Files\\pulumi-esx\\pulumi-esx-guest.ps1", mode: "", content: read("pulumi-esx-guest.ps1") },
    { name: "install.ps1", installPath: "(run once from the folder holding both files)", mode: "", content: read("install.ps1") },
  ];
}

export function installInstructions(family: GuestFamily): string {
  if (family === "linux")
    return [
      "# as root, in the folder holding both files (needs only sh and iproute2):",
      "install -m 0755 pulumi-esx-guest.sh /usr/local/sbin/pulumi-esx-guest",
      "install -m 0644 pulumi-esx-guest.service /etc/systemd/system/pulumi-esx-guest.service",
      "systemctl daemon-reload && systemctl enable pulumi-esx-guest.service",
      "# runs at every boot before the network stack; try it now with: /usr/local/sbin/pulumi-esx-guest",
      "# logs: journalctl -t pulumi-esx-guest -u pulumi-esx-guest",
    ].join("\n");
  return [
    "# in an elevated PowerShell, in the folder holding both files:",
    "powershell -ExecutionPolicy Bypass -File .\\install.ps1 -RunNow",
    "# registers the scheduled task 'pulumi-esx-guest' (at startup, as SYSTEM);",
    "# logs: Application event log, source pulumi-esx-guest, and %ProgramData%\\pulumi-esx\\guest.log",
  ].join("\n");
}

/** A #cloud-config document (write_files + runcmd) installing and enabling the Linux tool. */
export function cloudInitInstaller(): string {
  const files = guestToolFiles("linux");
  const doc = {
    write_files: files.map((f) => ({
      path: f.installPath,
      owner: "root:root",
      permissions: f.mode,
      encoding: "b64",
      content: Buffer.from(f.content, "utf8").toString("base64"),
    })),
    runcmd: [
      ["systemctl", "daemon-reload"],
      ["systemctl", "enable", "--now", "pulumi-esx-guest.service"],
    ],
  };
  return "#cloud-config\n" + YAML.stringify(doc, { lineWidth: 0 });
}
