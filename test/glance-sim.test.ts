import * as fs from "node:fs";
import * as http from "node:http";
import { startGlance } from "./support/glance-sim";

function alive(pid: number): boolean {
  try {
    process.kill(-pid, 0); // any process left in the group?
    return true;
  } catch {
    return false;
  }
}

function getJson(url: string): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    http.get(url, (res) => {
      let s = "";
      res.setEncoding("utf8");
      res.on("data", (d) => (s += d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(s) }));
    }).on("error", reject);
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
});
