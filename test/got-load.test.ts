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
