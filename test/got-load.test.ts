import { loadGot } from "../provider/http/got";
import * as http from "node:http";

test("got loads under jest", async () => {
  const srv = http.createServer((_q, r) => r.end("ok")).listen(0, "127.0.0.1");
  await new Promise((r) => srv.once("listening", r));
  const port = (srv.address() as any).port;
  const got = await loadGot();
  expect(await got(`http://127.0.0.1:${port}/`).text()).toBe("ok");
  srv.closeAllConnections();
  srv.close();
});

test("got loads in a plain node process from the compiled package (as in the provider plugin)", async () => {
  const { execFileSync } = await import("node:child_process");
  const path = await import("node:path");
  const root = path.resolve(__dirname, "..");
  const env = { ...process.env };
  delete env.NODE_OPTIONS; // the plugin runs without jest's --experimental-vm-modules
  const out = execFileSync(
    process.execPath,
    ["-e", `require(${JSON.stringify(path.join(root, "dist/provider/http/got.js"))}).loadGot().then((g) => console.log(typeof g, typeof g.stream))`],
    { env, encoding: "utf8" },
  );
  expect(out.trim()).toBe("function function");
});
