/**
 * Secrets with the real Pulumi CLI. `esx:password` and `esx:glanceToken` are set with
 * `pulumi config set-all --secret` (recognisable random values; the simulated host uses that password, the
 * no-auth Glance accepts any token); a program with a GuestNetwork, an EsxImage and an EsxInstance whose
 * `userData` carries a recognisable secret goes through preview, up, a no-change up, refresh and destroy, and
 * four failures are forced on purpose (a host alias that is not configured, an unknown Glance image, a wrong
 * password, an unreachable host). Then:
 *   - the stack file holds both credentials as `secure:` values only;
 *   - `userData` is masked in what `pulumi up` prints and in `pulumi stack output --json` ([secret]), stored
 *     encrypted in state (`--show-secrets` gives it back);
 *   - `pulumi stack export` (without --show-secrets), every file of the local backend (checkpoints, backups,
 *     history) and of PULUMI_HOME hold neither credential nor the userData secret, in clear text, base64 (any
 *     alignment) or hex;
 *   - everything pulumi printed (stdout, stderr, the engine events) for every command, the failures' messages
 *     included, and bench/results/ when it exists hold neither credential.
 * (examples.test.ts runs every example with the password and a Glance token set the same way.)
 */
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { GlanceClient } from "../provider/glance/client";
import { VimSession } from "../provider/vim/session";
import { ExecResult, Program, REPO, resourcesOf, RunnerResult, Workspace } from "../scripts/lib/pulumi";
import { findSecrets, findSecretsInFiles } from "./cli/scan";
import { EsxSim, startEsxSim } from "../scripts/lib/esx-sim";
import { GlanceSim, startGlance } from "../scripts/lib/glance-sim";

const PASSWORD = `esxpw-${crypto.randomBytes(9).toString("hex")}`;
const TOKEN = `gltok-${crypto.randomBytes(9).toString("hex")}`;
const WRONG_PASSWORD = `wrongpw-${crypto.randomBytes(9).toString("hex")}`;
const USER_DATA_SECRET = `udsecret-${crypto.randomBytes(9).toString("hex")}`;
const CREDENTIALS = { PASSWORD, TOKEN, WRONG_PASSWORD };
const STORED = { ...CREDENTIALS, USER_DATA_SECRET };

const PROGRAM = `
import * as pulumi from "@pulumi/pulumi";
import { EsxImage, EsxInstance, GuestNetwork } from "pulumi-esx";
const cfg = new pulumi.Config();
const lan = new GuestNetwork("lan", { portGroup: "sec-lan", cidr: "10.90.0.0/24", gateway: "10.90.0.1", allocationRange: { start: "10.90.0.50", end: "10.90.0.99" } });
const image = new EsxImage("base", { glanceImageId: cfg.require("glanceImageId") });
const vm = new EsxInstance("vm", {
  name: "sec-vm", image, cpus: 1, memoryMb: 256, networks: [{ network: lan, ip: "auto" }],
  userData: "#cloud-config\\npassword: ${USER_DATA_SECRET}\\n",
});
export const userData = vm.userData;
export const vmName = vm.name;
`;

const FAILURES = `
import * as pulumi from "@pulumi/pulumi";
import { EsxImage, GuestNetwork } from "pulumi-esx";
const c = new pulumi.Config().require("case");
if (c === "bad-alias") new GuestNetwork("x", { host: "nope", portGroup: "pg-x" });
if (c === "bad-image") new EsxImage("x", { glanceImageId: "0badc0de-0000-4000-8000-000000000000" });
if (c === "wrong-password" || c === "unreachable") new GuestNetwork("x", { portGroup: "pg-y" });
`;

let sim: EsxSim;
let glance: GlanceSim;
let imageId: string;
let ws: Workspace;
/** Everything pulumi printed, per command. */
const printed: { what: string; text: string }[] = [];
const failures: Record<string, RunnerResult> = {};

function record(what: string, r: RunnerResult | ExecResult): void {
  printed.push({ what, text: "events" in r ? JSON.stringify([r.stdout, r.stderr, r.events, r.error ?? ""]) : `${r.stdout}\n${r.stderr}` });
}

function credentials(extra: Record<string, string> = {}) {
  return {
    plain: { "esx:host": sim.host, "esx:thumbprint": sim.thumbprintSha256, "esx:username": sim.username, "esx:glanceUrl": glance.url, ...extra },
    secret: { "esx:password": PASSWORD, "esx:glanceToken": TOKEN },
  };
}

let prog: Program;

beforeAll(async () => {
  [sim, glance] = await Promise.all([startEsxSim({ tls: true, password: PASSWORD }), startGlance()]);
  const g = new GlanceClient({ url: glance.url, token: TOKEN });
  const img = await g.createImage({ name: "secrets", disk_format: "raw", container_format: "bare" });
  await g.uploadData(img.id, Buffer.alloc(2 << 20, 3));
  imageId = img.id;
  ws = new Workspace({ passphrase: crypto.randomBytes(12).toString("hex") });
  prog = ws.program({ project: "secrets", source: PROGRAM });
  prog.initStack("test", credentials({ glanceImageId: imageId }));
}, 300_000);

afterAll(async () => {
  await VimSession.closeAll();
  await Promise.allSettled([sim?.stop(), glance?.stop()]);
  ws?.remove();
});

test("the stack file holds the credentials as secure values only", () => {
  const file = fs.readFileSync(path.join(prog.dir, "Pulumi.test.yaml"), "utf8");
  expect(file).toMatch(/esx:password:\n\s+secure: v1:/);
  expect(file).toMatch(/esx:glanceToken:\n\s+secure: v1:/);
  expect(findSecrets(CREDENTIALS, "Pulumi.test.yaml", file)).toEqual([]);
  const shown = prog.exec(["config", "--json", "--stack", "test"]);
  record("config --json", shown);
  expect(JSON.parse(shown.stdout)["esx:password"]).toEqual({ secret: true });
});

test("a program's lifecycle: userData is masked in what pulumi prints and encrypted in state", async () => {
  for (const [what, r] of [
    ["preview", await prog.preview("test", { diff: true })],
    ["up", await prog.up("test")],
    ["up --expect-no-changes", await prog.up("test", { expectNoChanges: true })],
    ["refresh", await prog.refresh("test")],
  ] as const) {
    record(what, r);
    expect(r.stdout).not.toContain(USER_DATA_SECRET);
  }
  const up = printed.find((p) => p.what === "up")!.text;
  expect(up).toMatch(/userData: \[secret\]/);

  const out = prog.exec(["stack", "output", "--json", "--stack", "test"]);
  record("stack output --json", out);
  expect(JSON.parse(out.stdout)).toEqual({ userData: "[secret]", vmName: "sec-vm" });
  const shown = JSON.parse(prog.run(["stack", "output", "--json", "--show-secrets", "--stack", "test"]));
  expect(shown.userData).toContain(USER_DATA_SECRET); // it is stored, encrypted

  const exported = prog.exec(["stack", "export", "--stack", "test"]);
  record("stack export", exported);
  expect(findSecrets(STORED, "stack export", exported.stdout)).toEqual([]);
  const [vm] = resourcesOf(JSON.parse(exported.stdout), "EsxInstance");
  expect(vm.additionalSecretOutputs).toContain("userData");
  expect(vm.outputs!.userData).toEqual({ "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", ciphertext: expect.any(String) });
  expect(vm.inputs!.userData).toEqual({ "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", ciphertext: expect.any(String) });

  const down = await prog.destroy("test");
  record("destroy", down);
}, 300_000);

test("forced failures name the problem without echoing a credential", async () => {
  const fp = ws.program({ project: "secrets-failures", source: FAILURES });
  fp.initStack("bad-alias", credentials({ case: "bad-alias" }));
  fp.initStack("bad-image", credentials({ case: "bad-image" }));
  fp.initStack("wrong-password", credentials({ case: "wrong-password" }));
  fp.setConfig("wrong-password", { secret: { "esx:password": WRONG_PASSWORD } });
  fp.initStack("unreachable", credentials({ case: "unreachable", "esx:host": "127.0.0.1:1" }));
  for (const stack of ["bad-alias", "bad-image", "wrong-password", "unreachable"]) {
    failures[stack] = await fp.up(stack, { allowFailure: true });
    record(`up ${stack}`, failures[stack]);
    expect(failures[stack].ok).toBe(false);
  }
  const said = (s: string) => failures[s].stdout + failures[s].stderr;
  expect(said("bad-alias")).toMatch(/host "nope" is not configured/);
  expect(said("bad-image")).toMatch(/0badc0de-0000-4000-8000-000000000000/);
  expect(said("wrong-password")).toMatch(/InvalidLogin|login|password|authenticat/i);
  expect(said("unreachable")).toMatch(/127\.0\.0\.1:1/);
}, 300_000);

test("nothing Pulumi printed or stored holds a credential or the userData secret", () => {
  expect(printed.length).toBeGreaterThan(8);
  const hits = printed.flatMap((p) => findSecrets(CREDENTIALS, p.what, p.text));
  hits.push(...findSecretsInFiles(STORED, ws.backendDir));
  hits.push(...findSecretsInFiles(STORED, path.join(ws.dir, "home")));
  hits.push(...findSecretsInFiles(CREDENTIALS, path.join(REPO, "bench", "results")));
  expect(hits).toEqual([]);
  // the backend did record the stacks (the scan looked at real checkpoints)
  expect(findSecretsInFiles({ stack: "urn:pulumi:test::secrets::pulumi-nodejs:dynamic/esx:EsxInstance::vm" }, ws.backendDir).length).toBeGreaterThan(0);
});

test("the scan finds a secret when there is one (clear, base64 at any offset, hex)", () => {
  for (const wrap of [
    (s: string) => `x${s}y`,
    (s: string) => Buffer.from(`{"p":"${s}"}`).toString("base64"),
    (s: string) => Buffer.from(`ab${s}`).toString("base64"),
    (s: string) => Buffer.from(`a${s}`).toString("hex"),
  ]) {
    expect(findSecrets(CREDENTIALS, "t", wrap(PASSWORD))).not.toEqual([]);
  }
  expect(findSecrets(CREDENTIALS, "t", "nothing here")).toEqual([]);
});
