/**
 * Issue #9 item 4: with esx:password and esx:glanceToken set as secret stack config (recognisable random
 * values; the simulated hosts use that password, the no-auth Glance accepts any token), every example runs
 * through the harness engine (up, no-op up, destroy), plus failures forced on purpose (a host alias that is not
 * configured, an unreachable host, an unknown Glance image, a wrong password). Then everything Pulumi would
 * store or print is scanned: every gRPC request/response/error of the plugin (inputs, outputs, `__provider`),
 * the state files the engine wrote, plugin stdout/stderr and engine Log messages, the engine's error messages,
 * and bench/results/ when it exists. Neither secret may appear, in clear text, base64 (any alignment) or hex.
 * The one place the engine necessarily sends them is Configure (that is how a provider gets its config): there
 * they must arrive marked secret, and Configure requests are not persisted by Pulumi.
 * A secret output (EsxInstance userData) must not appear in clear text in state.
 */
import { execFileSync } from "node:child_process";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { GlanceClient } from "../provider/glance/client";
import { VimSession } from "../provider/vim/session";
import { EsxImage, EsxInstance, GuestNetwork } from "../sdk";
import { EngineError, runDestroy, runUp } from "./harness/engine";
import { discoverExamples, simStack, stacksOf, EXAMPLE_PASSPHRASE, hostAliases } from "./harness/examples";
import { SECRET_SIG, SIG_KEY } from "./harness/grpc";
import { startPlugin, PluginClient } from "./harness/plugin";
import { readStackConfig } from "./harness/stack-config";
import { EsxSim, startEsxSim } from "../scripts/lib/esx-sim";
import { GlanceSim, startGlance } from "../scripts/lib/glance-sim";

const PASSWORD = `esxpw-${crypto.randomBytes(9).toString("hex")}`;
const TOKEN = `gltok-${crypto.randomBytes(9).toString("hex")}`;
const WRONG_PASSWORD = `wrongpw-${crypto.randomBytes(9).toString("hex")}`;
const USER_DATA_SECRET = `udsecret-${crypto.randomBytes(9).toString("hex")}`;
const SECRETS = { PASSWORD, TOKEN, WRONG_PASSWORD };

const root = path.resolve(__dirname, "..");
let sims: EsxSim[] = [];
let glance: GlanceSim;
let imageId: string;
let work: string;
const plugins: PluginClient[] = [];
const stateFiles: string[] = [];
const errors: string[] = [];

/** Forms a secret could leak in: clear text, base64 at each of the 3 alignments, hex. */
function encodings(secret: string): string[] {
  const out = [secret, Buffer.from(secret).toString("hex")];
  for (let i = 0; i < 3; i++) {
    const b64 = Buffer.from("\0".repeat(i) + secret).toString("base64");
    out.push(b64.slice(i ? 4 : 0, -4)); // drop the block mixed with the prefix and the block with padding
  }
  return out;
}

function findSecrets(where: string, text: string): string[] {
  const hits: string[] = [];
  for (const [name, s] of Object.entries(SECRETS))
    for (const e of encodings(s)) if (text.includes(e)) hits.push(`${name} in ${where}${e === s ? "" : ` (encoded: ${e})`}`);
  return hits;
}

function filesUnder(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? filesUnder(path.join(dir, e.name)) : [path.join(dir, e.name)]));
}

async function plugin(config: Record<string, string>, secretKeys: string[], project: string): Promise<PluginClient> {
  const p = await startPlugin({ config, secretKeys, project, label: `secrets ${project} plugin` });
  plugins.push(p);
  await p.configure();
  return p;
}

function stateFile(name: string): string {
  const f = path.join(work, `${name}.json`);
  stateFiles.push(f);
  return f;
}

/** Runs up and records the engine's error message (what `pulumi up` prints); returns whether it failed. */
async function upExpectingFailure(program: () => Promise<any> | any, opts: Parameters<typeof runUp>[1]): Promise<string> {
  try {
    await runUp(program, opts);
  } catch (e) {
    const msg = e instanceof EngineError ? [e.message, ...e.errors.map((x) => `${x.message}\n${x.stack ?? ""}`)].join("\n") : String((e as Error)?.stack ?? e);
    errors.push(msg);
    return msg;
  }
  throw new Error("expected the update to fail");
}

beforeAll(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), "pulumi-esx-secrets-"));
  const hosts = Math.max(...discoverExamples().flatMap((p) => stacksOf(p).map((s) => hostAliases(readStackConfig(p, s, EXAMPLE_PASSPHRASE).values).length)));
  [glance, ...sims] = await Promise.all([startGlance(), ...Array.from({ length: hosts }, () => startEsxSim({ tls: true, password: PASSWORD }))]);
  const raw = path.join(work, "d.raw");
  fs.writeFileSync(raw, Buffer.alloc(4 << 20, 3));
  const vmdk = path.join(work, "d.vmdk");
  execFileSync("qemu-img", ["convert", "-f", "raw", "-O", "vmdk", "-o", "subformat=streamOptimized", raw, vmdk]);
  const g = new GlanceClient({ url: glance.url, token: TOKEN });
  const img = await g.createImage({ name: "secrets", disk_format: "vmdk", container_format: "bare" });
  await g.uploadData(img.id, fs.readFileSync(vmdk));
  imageId = img.id;
});

afterAll(async () => {
  await Promise.allSettled(plugins.map((p) => p.stop()));
  await VimSession.closeAll();
  await Promise.allSettled([...sims.map((s) => s.stop()), glance?.stop()]);
  fs.rmSync(work, { recursive: true, force: true });
});

const env = () => ({ sims, glanceUrl: glance.url, provided: { glanceImageId: imageId }, glanceToken: TOKEN });

test("every example converges and is destroyed with the password and Glance token as secret config", async () => {
  for (const p of discoverExamples()) {
    const program = require(path.join(p.dir, "index"));
    for (const stack of stacksOf(p)) {
      const st = simStack(p, stack, env());
      expect(st.config["esx:password"]).toBe(PASSWORD);
      expect(st.secretKeys).toEqual(expect.arrayContaining(["esx:password", "esx:glanceToken"]));
      const plug = await plugin(st.config, st.secretKeys, st.project);
      const opts = { plugin: plug, stateFile: stateFile(`${p.name}.${stack}`), project: st.project, stack, config: st.config, secretKeys: st.secretKeys };
      await runUp(program, opts);
      expect((await runUp(program, opts)).steps.filter((s) => s.op !== "same")).toEqual([]);
      await runDestroy(opts);
    }
  }
}, 300_000);

test("a secret output (EsxInstance userData) is kept out of state in clear text", async () => {
  const p = discoverExamples().find((e) => e.name === "pulumi-esx-quickstart")!;
  const st = simStack(p, "test", env());
  const plug = await plugin(st.config, st.secretKeys, "secrets-userdata");
  const opts = { plugin: plug, stateFile: stateFile("userdata"), project: "secrets-userdata", stack: "test", config: st.config, secretKeys: st.secretKeys };
  const program = () => {
    const image = new EsxImage("img", { glanceImageId: imageId });
    const vm = new EsxInstance("vm", { name: "secret-userdata-vm", image, cpus: 1, memoryMb: 256, userData: `#cloud-config\npassword: ${USER_DATA_SECRET}\n` });
    return { userData: vm.userData };
  };
  const up = await runUp(program, opts);
  expect(up.secretOutputs).toContain("userData"); // the stack output stays secret
  const state = fs.readFileSync(opts.stateFile, "utf8");
  expect(state).not.toContain(USER_DATA_SECRET);
  const entry = Object.values<any>(JSON.parse(state)).find((e) => e.type.endsWith(":EsxInstance"));
  expect(entry.secretOutputs).toContain("userData");
  expect(entry.outputs.userData[SIG_KEY]).toBe(SECRET_SIG);
  await runDestroy(opts);
}, 120_000);

test("forced failures name the problem without echoing a credential", async () => {
  const p = discoverExamples().find((e) => e.name === "pulumi-esx-quickstart")!;
  const st = simStack(p, "test", env());
  const plug = await plugin(st.config, st.secretKeys, "secrets-failures");
  const base = { plugin: plug, project: "secrets-failures", stack: "test", config: st.config, secretKeys: st.secretKeys };

  // a host alias that is not configured
  expect(
    await upExpectingFailure(
      () => {
        new GuestNetwork("x", { host: "nope", portGroup: "pg-x" });
      },
      { ...base, stateFile: stateFile("bad-alias") },
    ),
  ).toMatch(/host "nope" is not configured/);
  // an unknown Glance image (the request to Glance carries the token)
  expect(
    await upExpectingFailure(
      () => {
        new EsxImage("x", { glanceImageId: "0badc0de-0000-4000-8000-000000000000" });
      },
      { ...base, stateFile: stateFile("bad-image") },
    ),
  ).toMatch(/0badc0de-0000-4000-8000-000000000000/);

  // a wrong password: the login carries it; the error must not
  const wrong = { ...st.config, "esx:password": WRONG_PASSWORD };
  const wplug = await plugin(wrong, st.secretKeys, "secrets-wrongpw");
  const msg = await upExpectingFailure(
    () => {
      new GuestNetwork("x", { portGroup: "pg-y" });
    },
    { ...base, plugin: wplug, config: wrong, stateFile: stateFile("wrong-password") },
  );
  expect(msg).toMatch(/InvalidLogin|login|password|authenticat/i);

  // an unreachable host
  const gone = { ...st.config, "esx:host": "127.0.0.1:1" };
  const gplug = await plugin(gone, st.secretKeys, "secrets-unreachable");
  expect(
    await upExpectingFailure(
      () => {
        new GuestNetwork("x", { portGroup: "pg-z" });
      },
      { ...base, plugin: gplug, config: gone, stateFile: stateFile("unreachable") },
    ),
  ).toMatch(/127\.0\.0\.1:1/);
}, 120_000);

test("nothing Pulumi stores or prints holds the password or the token", () => {
  expect(plugins.length).toBeGreaterThan(4);
  const hits: string[] = [];
  for (const [i, p] of plugins.entries()) {
    for (const [j, c] of p.calls.entries()) {
      if (c.method === "configure") {
        // the engine's Configure: the credentials arrive marked secret
        const args = (c.request as any).args;
        for (const k of ["esx:password", "esx:glanceToken"]) expect(args[k]?.[SIG_KEY]).toBe(SECRET_SIG);
        hits.push(...findSecrets(`plugin ${i} configure response`, JSON.stringify(c.response ?? c.error ?? null)));
        continue;
      }
      hits.push(...findSecrets(`plugin ${i} call ${j} ${c.method}`, JSON.stringify(c)));
    }
    hits.push(...findSecrets(`plugin ${i} logs`, JSON.stringify(p.logs)));
    const providers = p.calls.map((c) => (c.request as any)?.news?.__provider ?? (c.request as any)?.properties?.__provider).filter(Boolean);
    if (i === 0) expect(providers.length).toBeGreaterThan(0);
  }
  for (const f of stateFiles) if (fs.existsSync(f)) hits.push(...findSecrets(`state ${path.basename(f)}`, fs.readFileSync(f, "utf8")));
  expect(errors.length).toBe(4);
  for (const [i, e] of errors.entries()) hits.push(...findSecrets(`error ${i}`, e));
  for (const f of filesUnder(path.join(root, "bench", "results"))) hits.push(...findSecrets(path.relative(root, f), fs.readFileSync(f).toString("latin1")));
  expect(hits).toEqual([]);
});

test("the scan finds a secret when there is one (clear, base64 at any offset, hex)", () => {
  for (const wrap of [
    (s: string) => `x${s}y`,
    (s: string) => Buffer.from(`{"p":"${s}"}`).toString("base64"),
    (s: string) => Buffer.from(`ab${s}`).toString("base64"),
    (s: string) => Buffer.from(`a${s}`).toString("hex"),
  ]) {
    expect(findSecrets("t", wrap(PASSWORD))).not.toEqual([]);
  }
  expect(findSecrets("t", "nothing here")).toEqual([]);
});
