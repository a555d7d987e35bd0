/**
 * The harness engine: whole programs "pulumi up"-ed against the real dynamic-provider plugin, with state in
 * a JSON file, using the fixture file provider (real files).
 */
import * as pulumi from "@pulumi/pulumi";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { EngineError, runDestroy, runUp, RunOptions } from "./harness/engine";
import { UNKNOWN } from "./harness/grpc";
import { PluginClient, startPlugin } from "./harness/plugin";
import { loadState } from "./harness/state";
import { File } from "./fixtures/harness/file-resource";

const config = { "harness:prefix": "P:", "harness:suffix": "!", "harness:token": "tok-9f8e7d" };
const secretKeys = ["harness:token"];

describe("harness engine", () => {
  let plugin: PluginClient;
  let work: string;
  let files: string;
  let opts: RunOptions;

  beforeAll(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), "harness-engine-"));
    files = path.join(work, "files");
    plugin = await startPlugin({ config, secretKeys, project: "proj" });
    await plugin.configure();
    opts = { plugin, stateFile: path.join(work, "state.json"), project: "proj", stack: "dev", config, secretKeys };
  });
  afterAll(async () => {
    await plugin?.stop();
    fs.rmSync(work, { recursive: true, force: true });
  });

  /** Files a..: content from the map plus the "harness:suffix" config; `b` may copy a's path (dependency). */
  const program =
    (contents: Record<string, string>, names: Record<string, string> = {}) =>
    async () => {
      const cfg = new pulumi.Config("harness");
      const out: Record<string, pulumi.Output<number>> = {};
      for (const [key, content] of Object.entries(contents)) {
        const f = new File(key, { dir: files, name: names[key] ?? `${key}.txt`, content: content + cfg.require("suffix") });
        out[key] = f.size;
      }
      return out;
    };
  const read = (name: string) => fs.readFileSync(path.join(files, name), "utf8");
  const ops = (steps: { urn: string; op: string }[]) =>
    Object.fromEntries(steps.filter((s) => !s.urn.includes("pulumi:pulumi:Stack")).map((s) => [s.urn.split("::").pop(), s.op]));
  const withoutProvider = ({ __provider: _p, ...rest }: Record<string, any>) => rest;
  const mutations = (from: number) => plugin.calls.slice(from).filter((c) => ["create", "update", "delete"].includes(c.method));

  test("preview of a new stack plans creates and changes nothing", async () => {
    const r = await runUp(program({ a: "A", b: "B" }), { ...opts, preview: true });
    expect(ops(r.steps)).toEqual({ a: "create", b: "create" });
    expect(fs.existsSync(files)).toBe(false);
    expect(fs.existsSync(opts.stateFile)).toBe(false);
  });

  test("up creates, second up is all same, a change updates", async () => {
    const first = await runUp(program({ a: "A", b: "BB" }), opts);
    expect(ops(first.steps)).toEqual({ a: "create", b: "create" });
    expect(first.outputs).toEqual({ a: 4, b: 5 }); // "P:A!" and "P:BB!": plugin config + program config
    expect(read("a.txt")).toBe("P:A!");
    const state = loadState(opts.stateFile);
    expect(state["urn:pulumi:dev::proj::pulumi-nodejs:dynamic/harness:File::a"]).toMatchObject({ id: path.join(files, "a.txt"), inputs: { content: "A!" } });

    const mark = plugin.calls.length;
    const second = await runUp(program({ a: "A", b: "BB" }), opts);
    expect(ops(second.steps)).toEqual({ a: "same", b: "same" });
    expect(mutations(mark)).toEqual([]);

    const third = await runUp(program({ a: "A", b: "changed" }), opts);
    expect(ops(third.steps)).toEqual({ a: "same", b: "update" });
    expect(read("b.txt")).toBe("P:changed!");
  });

  test("a replacement (renamed file) deletes the old one first; removing a resource deletes it", async () => {
    const r = await runUp(program({ a: "A", b: "changed" }, { b: "b2.txt" }), opts);
    expect(ops(r.steps)).toEqual({ a: "same", b: "replace" });
    expect(fs.existsSync(path.join(files, "b.txt"))).toBe(false);
    expect(read("b2.txt")).toBe("P:changed!");

    const gone = await runUp(program({ a: "A" }), opts);
    expect(ops(gone.steps)).toEqual({ a: "same", b: "delete" });
    expect(fs.readdirSync(files)).toEqual(["a.txt"]);
  });

  test("preview of a dependent resource sends unknowns to Check and Diff and calls nothing else", async () => {
    const mark = plugin.calls.length;
    const r = await runUp(
      async () => {
        const a = new File("a", { dir: files, name: "a.txt", content: "A!" });
        const c = new File("c", { dir: files, name: "c.txt", content: pulumi.interpolate`copy of ${a.size}` });
        const a2 = new File("a2", { dir: files, name: "a2.txt", content: pulumi.interpolate`${a.path}` });
        return { c: c.size, a2: a2.size };
      },
      { ...opts, preview: true },
    );
    expect(ops(r.steps)).toEqual({ a: "same", c: "create", a2: "create" });
    const calls = plugin.calls.slice(mark);
    expect(new Set(calls.map((c) => c.method))).toEqual(new Set(["check", "diff"]));
    // a is unchanged, so its outputs are known even in preview; c's content is known, a2's too.
    expect(JSON.stringify(calls.map((c) => withoutProvider((c.request as any).news ?? {})))).not.toContain(UNKNOWN);

    const mark2 = plugin.calls.length;
    await runUp(
      async () => {
        const n = new File("n", { dir: files, name: "n.txt", content: "new" });
        new File("m", { dir: files, name: "m.txt", content: pulumi.interpolate`after ${n.size}` });
        new File("a", { dir: files, name: "a.txt", content: "A!" });
      },
      { ...opts, preview: true },
    );
    const check = plugin.calls.slice(mark2).find((c) => c.method === "check" && (c.request as any).urn.endsWith("::m"))!;
    expect((check.request as any).news.content).toBe(UNKNOWN);
    expect(fs.existsSync(path.join(files, "n.txt"))).toBe(false);
  });

  test("stack config secrets stay out of the state file; outputs derived from them are secret", async () => {
    const r = await runUp(async () => {
      const cfg = new pulumi.Config("harness");
      const a = new File("a", { dir: files, name: "a.txt", content: "A!" });
      const s = new File("s", { dir: files, name: "s.txt", content: cfg.requireSecret("token") });
      return { a: a.size, s: s.content };
    }, opts);
    expect(ops(r.steps)).toEqual({ a: "same", s: "create" });
    expect(r.outputs.s).toBe("tok-9f8e7d");
    expect(r.secretOutputs).toEqual(["s"]);
    expect(read("s.txt")).toBe("P:tok-9f8e7d");
    expect(fs.readFileSync(opts.stateFile, "utf8")).not.toContain("tok-9f8e7d");
  });

  test("a failing create fails the update, keeps state, and skips deletions", async () => {
    const err: EngineError = await runUp(async () => {
      new File("a", { dir: files, name: "a.txt", content: "A!" });
      new File("x", { dir: files, name: "x.txt", content: "fail" });
    }, opts).catch((e) => e);
    expect(err).toBeInstanceOf(EngineError);
    expect(err.message).toContain("refusing to write x.txt");
    expect(ops(err.steps)).toMatchObject({ a: "same" });
    expect(Object.keys(loadState(opts.stateFile)).some((u) => u.endsWith("::s"))).toBe(true); // s not deleted
    expect(fs.existsSync(path.join(files, "s.txt"))).toBe(true);
  });

  test("destroy removes everything", async () => {
    const r = await runDestroy(opts);
    expect(Object.values(ops(r.steps))).toEqual(expect.arrayContaining(["delete"]));
    expect(fs.readdirSync(files)).toEqual([]);
    expect(loadState(opts.stateFile)).toEqual({});
  });
});
