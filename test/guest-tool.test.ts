import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as YAML from "yaml";
import { cloudInitInstaller, guestToolFiles, installInstructions } from "../provider/guest/tool-files";
import { main } from "../scripts/guest-tool";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "pe-guesttool-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe("guest tool files", () => {
  test("linux and windows files are shipped and non-empty", () => {
    expect(guestToolFiles("linux").map((f) => [f.name, f.installPath, f.mode])).toEqual([
      ["pulumi-esx-guest.sh", "/usr/local/sbin/pulumi-esx-guest", "0755"],
      ["pulumi-esx-guest.service", "/etc/systemd/system/pulumi-esx-guest.service", "0644"],
    ]);
    expect(guestToolFiles("windows").map((f) => f.name)).toEqual(["pulumi-esx-guest.ps1", "install.ps1"]);
    for (const f of [...guestToolFiles("linux"), ...guestToolFiles("windows")]) expect(f.content.length).toBeGreaterThan(500);
    expect(installInstructions("linux")).toContain("systemctl enable pulumi-esx-guest.service");
  });

  test("the linux script parses with dash and the unit passes systemd-analyze verify (apart from the missing binary)", () => {
    const [sh, unit] = guestToolFiles("linux");
    const script = path.join(tmp, "tool.sh");
    fs.writeFileSync(script, sh.content);
    expect(spawnSync("sh", ["-n", script]).status).toBe(0);
    const unitFile = path.join(tmp, "pulumi-esx-guest.service");
    fs.writeFileSync(unitFile, unit.content);
    const v = spawnSync("systemd-analyze", ["verify", unitFile], { encoding: "utf8" });
    const problems = (v.stderr + v.stdout).split("\n").filter((l) => l.trim() && !l.includes("/usr/local/sbin/pulumi-esx-guest"));
    expect(problems).toEqual([]);
  });

  test("CLI writes the files with their modes; bad usage returns 2", () => {
    const out = path.join(tmp, "out");
    const write = jest.spyOn(process.stdout, "write").mockImplementation(() => true);
    const err = jest.spyOn(process.stderr, "write").mockImplementation(() => true);
    try {
      expect(main(["linux", "--out", out])).toBe(0);
      expect(main(["solaris"])).toBe(2);
      expect(main(["cloud-init"])).toBe(0);
    } finally {
      write.mockRestore();
      err.mockRestore();
    }
    expect(fs.statSync(path.join(out, "pulumi-esx-guest.sh")).mode & 0o777).toBe(0o755);
    expect(fs.readFileSync(path.join(out, "pulumi-esx-guest.service"), "utf8")).toBe(guestToolFiles("linux")[1].content);
  });
});

describe("cloud-init installer user-data", () => {
  test("is valid #cloud-config for Debian's cloud-init and carries the exact tool files", () => {
    const text = cloudInitInstaller();
    expect(text.startsWith("#cloud-config\n")).toBe(true);
    const doc = YAML.parse(text);
    const files = guestToolFiles("linux");
    expect(doc.write_files.map((w: any) => [w.path, w.permissions, Buffer.from(w.content, "base64").toString("utf8")])).toEqual(
      files.map((f) => [f.installPath, f.mode, f.content]),
    );
    expect(doc.runcmd).toEqual([
      ["systemctl", "daemon-reload"],
      ["systemctl", "enable", "--now", "pulumi-esx-guest.service"],
    ]);
    const file = path.join(tmp, "user-data");
    fs.writeFileSync(file, text);
    const out = execFileSync("cloud-init", ["schema", "-c", file], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
    expect(out).toContain("Valid cloud-config");
  });
});
