import { alive } from "../scripts/lib/processes";
import * as fs from "node:fs";
import * as https from "node:https";
import * as tls from "node:tls";
import { ESXSIM_BIN, EsxSim, buildEsxSim, startEsxSim } from "../scripts/lib/esx-sim";
import { spawnTracked, stopTracked } from "../scripts/lib/processes";

const envelope = (inner: string) =>
  `<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" ` +
  `xmlns:vim25="urn:vim25"><soapenv:Body>${inner}</soapenv:Body></soapenv:Envelope>`;
const login = (user: string, pass: string) =>
  envelope(
    `<vim25:Login><vim25:_this type="SessionManager">ha-sessionmgr</vim25:_this>` +
      `<vim25:userName>${user}</vim25:userName><vim25:password>${pass}</vim25:password></vim25:Login>`,
  );
const currentTime = envelope(`<vim25:CurrentTime><vim25:_this type="ServiceInstance">ServiceInstance</vim25:_this></vim25:CurrentTime>`);

interface Reply {
  status: number;
  body: string;
  cookie?: string;
}

/** Fetches the server certificate without trusting it (we pin it by thumbprint below). */
function peerCert(host: string): Promise<tls.PeerCertificate> {
  const [h, p] = host.split(":");
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: h, port: Number(p), rejectUnauthorized: false }, () => {
      const c = s.getPeerCertificate();
      s.end();
      resolve(c);
    });
    s.on("error", reject);
  });
}

const pem = (c: tls.PeerCertificate) => `-----BEGIN CERTIFICATE-----\n${c.raw.toString("base64").replace(/(.{64})/g, "$1\n")}\n-----END CERTIFICATE-----\n`;

/** A SOAP POST over HTTPS that trusts exactly the given certificate (so host name / IP and dates are checked). */
function httpsSoap(url: string, ca: string, body: string, cookie?: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      url,
      {
        method: "POST",
        ca,
        headers: { "Content-Type": "text/xml", SOAPAction: "urn:vim25/7.0", ...(cookie ? { Cookie: cookie } : {}) },
      },
      (res) => {
        let data = "";
        res.setEncoding("utf8");
        res.on("data", (d: string) => (data += d));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: data, cookie: res.headers["set-cookie"]?.[0]?.split(";")[0] }));
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

async function httpSoap(url: string, body: string, cookie?: string): Promise<Reply> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "Content-Type": "text/xml", SOAPAction: "urn:vim25/7.0", ...(cookie ? { Cookie: cookie } : {}) },
    body,
  });
  return { status: res.status, body: await res.text(), cookie: res.headers.get("set-cookie")?.split(";")[0] };
}

beforeAll(() => buildEsxSim(), 300_000);

describe("esxsim over TLS", () => {
  let sim: EsxSim;
  beforeAll(async () => {
    sim = await startEsxSim({ tls: true, password: "s3cret!", methodDelays: { CurrentTime: 400 } });
  });
  afterAll(() => sim?.stop());

  test("state file and READY data agree and describe the server", () => {
    const st = JSON.parse(fs.readFileSync(sim.stateFile, "utf8"));
    expect(st).toEqual({
      url: sim.url,
      host: sim.host,
      username: "root",
      password: "s3cret!",
      thumbprintSha1: sim.thumbprintSha1,
      thumbprintSha256: sim.thumbprintSha256,
      pid: sim.pid,
      datastores: sim.datastores,
    });
    expect(sim.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/sdk$/);
    expect(sim.url).toBe(`https://${sim.host}/sdk`);
    expect(sim.thumbprintSha1).toMatch(/^([0-9A-F]{2}:){19}[0-9A-F]{2}$/);
    expect(sim.thumbprintSha256).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    expect(Object.keys(sim.datastores)).toEqual(["LocalDS_0"]);
    expect(fs.statSync(sim.datastores.LocalDS_0).isDirectory()).toBe(true);
  });

  test("the certificate has the announced thumbprints and is valid for 127.0.0.1 and localhost", async () => {
    const cert = await peerCert(sim.host);
    expect(cert.fingerprint).toBe(sim.thumbprintSha1);
    expect(cert.fingerprint256).toBe(sim.thumbprintSha256);
    expect(cert.subjectaltname).toContain("IP Address:127.0.0.1");
    expect(cert.subjectaltname).toContain("DNS:localhost");
    // trusting exactly this certificate, a verified connection succeeds (date, SAN IP are checked)
    const r = await httpsSoap(sim.url, pem(cert), login("root", "s3cret!"));
    expect(r.status).toBe(200);
    expect(r.body).toContain("LoginResponse");
  });

  test("Login accepts only the configured credentials (InvalidLogin otherwise)", async () => {
    const ca = pem(await peerCert(sim.host));
    for (const [u, p] of [
      ["root", "wrong"],
      ["admin", "s3cret!"],
      ["root", ""],
    ]) {
      const r = await httpsSoap(sim.url, ca, login(u, p));
      expect(r.status).toBe(500);
      expect(r.body).toContain("InvalidLogin");
      expect(r.cookie).toBeUndefined();
    }
  });

  test("expireSessions makes the next call with the old cookie answer NotAuthenticated; re-login works", async () => {
    const ca = pem(await peerCert(sim.host));
    const l = await httpsSoap(sim.url, ca, login("root", "s3cret!"));
    expect(l.cookie).toMatch(/^vmware_soap_session=/);
    const before = await httpsSoap(sim.url, ca, currentTime, l.cookie);
    expect(before.status).toBe(200);
    expect(before.body).toContain("CurrentTimeResponse");
    await sim.expireSessions();
    const after = await httpsSoap(sim.url, ca, currentTime, l.cookie);
    expect(after.status).toBe(500);
    expect(after.body).toContain("NotAuthenticated");
    const again = await httpsSoap(sim.url, ca, login("root", "s3cret!"));
    expect((await httpsSoap(sim.url, ca, currentTime, again.cookie)).status).toBe(200);
  });

  test("method delays apply", async () => {
    const ca = pem(await peerCert(sim.host));
    const l = await httpsSoap(sim.url, ca, login("root", "s3cret!"));
    const t0 = Date.now();
    expect((await httpsSoap(sim.url, ca, currentTime, l.cookie)).status).toBe(200);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(380);
  });
});

describe("esxsim over plain HTTP", () => {
  test("answers SOAP, generates a password, and stop leaves no process, state file nor datastore dir", async () => {
    const sim = await startEsxSim();
    try {
      expect(sim.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/sdk$/);
      expect(sim.username).toBe("root");
      expect(sim.password.length).toBeGreaterThanOrEqual(16);
      expect(sim.thumbprintSha1).toBe("");
      const bad = await httpSoap(sim.url, login("root", sim.password + "x"));
      expect(bad.status).toBe(500);
      expect(bad.body).toContain("InvalidLogin");
      const good = await httpSoap(sim.url, login(sim.username, sim.password));
      expect(good.status).toBe(200);
      expect((await httpSoap(sim.url, currentTime, good.cookie)).body).toContain("CurrentTimeResponse");
      expect(alive(sim.pid)).toBe(true);
    } finally {
      await sim.stop();
    }
    expect(alive(sim.pid)).toBe(false);
    expect(fs.existsSync(sim.stateFile)).toBe(false);
    for (const dir of Object.values(sim.datastores)) expect(fs.existsSync(dir)).toBe(false);
  });

  test("the simulator exits by itself when its stdin closes (parent gone) and cleans up", async () => {
    const child = spawnTracked(ESXSIM_BIN, [], { label: "esxsim-stdin-test", stdio: ["pipe", "pipe", "pipe"] });
    try {
      const line = await new Promise<string>((resolve, reject) => {
        let out = "";
        child.stdout!.on("data", (d: Buffer) => {
          out += d.toString();
          const m = /ESXSIM READY (.*)\n/.exec(out);
          if (m) resolve(m[1]);
        });
        child.once("exit", () => reject(new Error("exited early")));
      });
      const st = JSON.parse(line);
      const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
      child.stdin!.end();
      expect(await exited).toBe(0);
      expect(alive(st.pid)).toBe(false);
      for (const dir of Object.values(st.datastores as Record<string, string>)) expect(fs.existsSync(dir)).toBe(false);
    } finally {
      await stopTracked(child, 1000);
    }
  });

  test("an expired certificate is served when asked for, and a verifying client rejects it", async () => {
    const sim = await startEsxSim({ expiredCert: true });
    try {
      const cert = await peerCert(sim.host);
      expect(cert.fingerprint256).toBe(sim.thumbprintSha256);
      expect(new Date(cert.valid_to).getTime()).toBeLessThan(Date.now());
      await expect(httpsSoap(sim.url, pem(cert), login(sim.username, sim.password))).rejects.toMatchObject({
        code: "CERT_HAS_EXPIRED",
      });
    } finally {
      await sim.stop();
    }
  });
});
