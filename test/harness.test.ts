import { alive } from "../scripts/lib/processes";
/**
 * The plugin harness end to end: the real @pulumi/pulumi dynamic-provider plugin in its own process, driven
 * over gRPC with a fixture provider whose operations write and delete real files.
 *
 * It tests the plugin client (test/harness/plugin.ts) itself, which the plugin-level tests use.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { PluginClient, PluginError, startPlugin } from "./harness/plugin";
import { dynamicType, serializeProvider, urn } from "./harness/serialize";
import { UNKNOWN } from "./harness/grpc";
import { fileProvider } from "./fixtures/harness/file-provider";

describe("plugin harness", () => {
  let plugin: PluginClient;
  let provider: string;
  let dir: string;
  const type = dynamicType("harness", "File");
  const u = (name: string) => urn(type, name, "dev", "harness-test");

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "harness-files-"));
    provider = await serializeProvider(fileProvider);
    plugin = await startPlugin({ config: { "harness:prefix": "P:", "harness:token": "s3cret-token" }, secretKeys: ["harness:token"], project: "harness-test" });
  });
  afterAll(async () => {
    await plugin?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test("the plugin is a separate process that answers GetPluginInfo and Configure", async () => {
    expect(plugin.pid).not.toBe(process.pid);
    expect(alive(plugin.pid)).toBe(true);
    expect((await plugin.getPluginInfo()).version).toMatch(/^3\./);
    const conf = await plugin.configure();
    expect(conf.acceptSecrets).toBe(false);
    // The secret arrived wrapped; the request log shows exactly what crossed the wire.
    expect(JSON.stringify(plugin.calls.find((c) => c.method === "configure")!.request)).toContain("1b47061264138c4ac30d75fd1eb44270");
  });

  test("serialized provider requires built-ins lazily, not by value", () => {
    expect(provider).toMatch(/^exports\.handler = __f0;/);
    expect(provider).toContain('require("node:fs")');
    expect(provider.length).toBeLessThan(10000); // the fixture alone: nothing dragged in by value
  });

  test("Check returns inputs, failures, and passes unknown values through", async () => {
    const ok = await plugin.check(u("a"), {}, { dir, name: "a.txt", content: UNKNOWN, __provider: provider });
    expect(ok.failures).toEqual([]);
    expect(ok.inputs).toEqual({ dir, name: "a.txt", content: UNKNOWN, createdAt: "first-check", __provider: provider });

    const bad = await plugin.check(u("b"), {}, { dir, name: "x/y", content: "c", __provider: provider });
    expect(bad.failures).toEqual([{ property: "name", reason: "name must be a plain, non-empty file name" }]);
  });

  test("Create, Read, Diff, Update, Delete have real effects", async () => {
    const inputs = { dir, name: "a.txt", content: "one", __provider: provider };
    const file = path.join(dir, "a.txt");

    const created = await plugin.create(u("a"), inputs);
    expect(created.id).toBe(file);
    expect(fs.readFileSync(file, "utf8")).toBe("P:one"); // configure read "harness:prefix"
    expect(created.properties).toMatchObject({ content: "one", size: 5, __provider: provider });
    const log = await plugin.waitForLog((l) => l.message === `wrote ${file}`);
    expect(log).toMatchObject({ source: "stdout", severity: "info" });

    fs.writeFileSync(file, "P:drifted");
    const read = await plugin.read(created.id, u("a"), created.properties, inputs);
    expect(read.id).toBe(file);
    expect(read.properties).toMatchObject({ content: "drifted", size: 9, __provider: provider });

    // Refreshed state differs from the program's inputs; the state from create does not.
    expect(await plugin.diff(created.id, u("a"), read.properties, inputs)).toEqual({
      changes: "some",
      replaces: [],
      stables: [],
      deleteBeforeReplace: false,
    });
    expect((await plugin.diff(created.id, u("a"), created.properties, inputs)).changes).toBe("none");
    const unk = await plugin.diff(created.id, u("a"), created.properties, { ...inputs, content: UNKNOWN });
    expect(unk.changes).toBe("some");
    const repl = await plugin.diff(created.id, u("a"), created.properties, { ...inputs, name: "b.txt" });
    expect(repl).toMatchObject({ changes: "some", replaces: ["name"], deleteBeforeReplace: true });

    const updated = await plugin.update(created.id, u("a"), created.properties, { ...inputs, content: "two" });
    expect(updated.properties).toMatchObject({ content: "two", size: 5 });
    expect(fs.readFileSync(file, "utf8")).toBe("P:two");

    await plugin.delete(created.id, u("a"), updated.properties);
    expect(fs.existsSync(file)).toBe(false);
    const gone = await plugin.read(created.id, u("a"), updated.properties, inputs);
    expect(gone.id).toBe("");
  });

  test("errors reject with the provider's message; partial creates carry {id, properties, reasons}", async () => {
    await expect(plugin.create(u("f"), { dir, name: "f.txt", content: "fail", __provider: provider })).rejects.toMatchObject({
      name: "PluginError",
      message: "refusing to write f.txt",
      initFailed: undefined,
    });
    const err = await plugin.create(u("g"), { dir, name: "g.txt", content: "fail-after-create", __provider: provider }).catch((e) => e);
    expect(err).toBeInstanceOf(PluginError);
    expect(err.message).toBe("written but not healthy");
    expect(err.initFailed).toMatchObject({ id: path.join(dir, "g.txt"), properties: { size: 19 }, reasons: ["health check failed"] });
    expect(fs.existsSync(path.join(dir, "g.txt"))).toBe(true);
  });

  test("a request without __provider fails as with the real engine", async () => {
    await expect(plugin.create(u("h"), { dir, name: "h.txt", content: "x" })).rejects.toThrow(/code must be a string, not undefined/);
  });

  test("the call log records requests and responses as JSON", () => {
    const create = plugin.calls.find((c) => c.method === "create" && !c.error)!;
    expect(create.request).toMatchObject({ urn: u("a"), properties: { content: "one" } });
    expect(create.response).toMatchObject({ id: path.join(dir, "a.txt") });
  });

  test("stop kills the process by PID; kill() simulates a crash", async () => {
    const other = await startPlugin({ config: { "harness:prefix": "" } });
    expect(other.pid).not.toBe(plugin.pid);
    await other.kill();
    expect(other.exited).toBe(true);
    expect(alive(other.pid)).toBe(false);
    await expect(other.getPluginInfo()).rejects.toMatchObject({ code: 14 /* UNAVAILABLE */ });
    await other.stop();
    expect(fs.existsSync(other.cwd)).toBe(false);

    const pid = plugin.pid;
    await plugin.stop();
    expect(plugin.exited).toBe(true);
    expect(alive(pid)).toBe(false);
  });
});
