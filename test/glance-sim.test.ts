import * as fs from "node:fs";
import * as http from "node:http";
import * as net from "node:net";
import * as os from "node:os";
import { startGlance } from "../scripts/lib/glance-sim";

function alive(pid: number): boolean {
  try {
    process.kill(-pid, 0); // any process left in the group?
    return true;
  } catch {
    return false;
  }
}

/** glance-api processes whose temp dir is gone: left behind by a stop or a failed start (always a bug). */
function orphanGlancePids(): number[] {
  const out: number[] = [];
  for (const p of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(p)) continue;
    let cmd: string;
    try {
      cmd = fs.readFileSync(`/proc/${p}/cmdline`, "utf8");
    } catch {
      continue; // exited meanwhile
    }
    const conf = /glance\.cmd\.api\0--config-file\0([^\0]+)/.exec(cmd)?.[1];
    if (conf && !fs.existsSync(conf)) out.push(Number(p));
  }
  return out;
}

function getJson(url: string): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, (res) => {
        let s = "";
        res.setEncoding("utf8");
        res.on("data", (d) => (s += d));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(s) }));
      })
      .on("error", reject);
  });
}

test("startGlance serves the Images API v2 and stop leaves no process or temp dir", async () => {
  const g = await startGlance();
  try {
    expect(g.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const v = await getJson(`${g.url}/versions`);
    expect(v.body.versions.some((x: { id: string; status: string }) => x.status === "CURRENT" && x.id.startsWith("v2"))).toBe(true);
    const list = await getJson(`${g.url}/v2/images`);
    expect(list.status).toBe(200);
    expect(list.body.images).toEqual([]);
    expect(fs.existsSync(g.storeDir)).toBe(true);
    expect(alive(g.pid)).toBe(true);
  } finally {
    await g.stop();
  }
  expect(alive(g.pid)).toBe(false);
  expect(fs.existsSync(g.dataDir)).toBe(false);
  expect(orphanGlancePids()).toEqual([]);
});

test("a Glance that cannot come up fails with its log tail, leaving no process or temp dir", async () => {
  // Holds the port (accepting, never answering) so that Glance cannot bind it and never answers.
  const conns = new Set<net.Socket>();
  const busy = net.createServer((c) => {
    conns.add(c);
    c.on("close", () => conns.delete(c));
  });
  await new Promise<void>((r) => busy.listen(0, "127.0.0.1", r));
  const port = (busy.address() as net.AddressInfo).port;
  const before = fs.readdirSync(os.tmpdir()).filter((f) => f.startsWith("pulumi-esx-glance-"));
  try {
    const err = await startGlance({ port, startTimeoutMs: 4000 }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toContain(`did not answer GET /versions on http://127.0.0.1:${port}`);
    expect((err as Error).message).toMatch(/log:\n.*glance/s);
  } finally {
    for (const c of conns) c.destroy();
    await new Promise((r) => busy.close(r));
  }
  const after = fs.readdirSync(os.tmpdir()).filter((f) => f.startsWith("pulumi-esx-glance-"));
  expect(after).toEqual(before);
  expect(orphanGlancePids()).toEqual([]);
});
