/**
 * Stack config for Glance and Keystone (provider/settings.ts), the catalog lookup (provider/glance/catalog.ts) and
 * the configuration errors KeystoneAuth raises before it talks to anyone.
 */
import { findEndpoint } from "../provider/glance/catalog";
import { KeystoneAuth } from "../provider/glance/keystone";
import { settingsFromConfig } from "../provider/settings";

const cfg = (c: Record<string, string>) => (k: string) => c[k];

describe("esx:glanceTimeoutMs", () => {
  const saved = process.env.PULUMI_ESX_GLANCE_TIMEOUT_MS;
  afterEach(() => {
    if (saved === undefined) delete process.env.PULUMI_ESX_GLANCE_TIMEOUT_MS;
    else process.env.PULUMI_ESX_GLANCE_TIMEOUT_MS = saved;
  });

  test("the config key wins over the environment fallback; neither: the client's default", () => {
    delete process.env.PULUMI_ESX_GLANCE_TIMEOUT_MS;
    expect(settingsFromConfig(cfg({})).glanceTimeoutMs).toBeUndefined();
    process.env.PULUMI_ESX_GLANCE_TIMEOUT_MS = "4000";
    expect(settingsFromConfig(cfg({})).glanceTimeoutMs).toBe(4000);
    expect(settingsFromConfig(cfg({ "esx:glanceTimeoutMs": "120000" })).glanceTimeoutMs).toBe(120000);
  });

  test.each(["0", "-5", "soon", "NaN"])("%s is refused naming the key", (v) => {
    delete process.env.PULUMI_ESX_GLANCE_TIMEOUT_MS;
    expect(() => settingsFromConfig(cfg({ "esx:glanceTimeoutMs": v }))).toThrow(/esx:glanceTimeoutMs must be a positive number/);
  });
});

describe("Glance and Keystone settings", () => {
  test("no Glance without esx:glanceUrl or esx:keystoneUrl; static token without Keystone", () => {
    expect(settingsFromConfig(cfg({})).glance).toBeUndefined();
    expect(settingsFromConfig(cfg({ "esx:glanceUrl": "http://g:9292", "esx:glanceToken": "t" })).glance).toEqual({
      url: "http://g:9292",
      token: "t",
      keystone: undefined,
    });
  });

  test("Keystone keys with their defaults; the static token is not used then", () => {
    const g = settingsFromConfig(
      cfg({ "esx:keystoneUrl": "http://k:5000/v3", "esx:keystoneUsername": "u", "esx:keystonePassword": "p", "esx:glanceToken": "t" }),
    ).glance;
    expect(g).toEqual({
      url: undefined,
      token: undefined,
      keystone: {
        url: "http://k:5000/v3",
        username: "u",
        password: "p",
        userDomain: "Default",
        project: undefined,
        projectDomain: "Default",
        applicationCredentialId: undefined,
        applicationCredentialSecret: undefined,
        region: undefined,
      },
    });
  });

  test("incomplete Keystone credentials are refused naming the keys, never echoing a secret", () => {
    expect(() => new KeystoneAuth({ url: "http://k:5000/v3", username: "u" })).toThrow(/esx:keystoneUsername and esx:keystonePassword/);
    let message = "";
    try {
      new KeystoneAuth({ url: "http://k:5000", applicationCredentialSecret: "s3cr3t-value" });
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toMatch(/esx:keystoneApplicationCredentialId/);
    expect(message).not.toContain("s3cr3t-value");
    expect(new KeystoneAuth({ url: "http://k:5000", username: "u", password: "p" }).url).toBe("http://k:5000/v3");
  });
});

describe("catalog lookup", () => {
  const catalog = [
    { type: "identity", endpoints: [{ interface: "public", region_id: "r1", url: "http://k/v3" }] },
    {
      type: "image",
      endpoints: [
        { interface: "internal", region_id: "r1", url: "http://internal:9292" },
        { interface: "public", region_id: "r1", url: "http://g1:9292" },
        { interface: "public", region_id: "r2", url: "http://g2:9292" },
      ],
    },
  ];

  test("the public endpoint of the asked region", () => {
    expect(findEndpoint(catalog, "image", "public", "r2")).toBe("http://g2:9292");
    expect(findEndpoint(catalog, "image", "public", "r1")).toBe("http://g1:9292");
  });

  test("several regions without esx:keystoneRegion, an unknown region, or no image service are explained", () => {
    expect(findEndpoint(catalog, "image", "public")).toEqual({ problem: expect.stringMatching(/several regions \(r1, r2\).*esx:keystoneRegion/) });
    expect(findEndpoint(catalog, "image", "public", "r3")).toEqual({ problem: expect.stringMatching(/no public endpoint in region r3.*r1, r2/) });
    expect(findEndpoint(catalog.slice(0, 1), "image", "public")).toEqual({ problem: expect.stringMatching(/no "image" service \(types: identity\)/) });
  });

  test("one region needs no esx:keystoneRegion", () => {
    expect(findEndpoint([{ type: "image", endpoints: [{ interface: "public", region: "x", url: "http://g:9292/" }] }], "image", "public")).toBe(
      "http://g:9292/",
    );
  });
});
