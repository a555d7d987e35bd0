/**
 * The serialized provider stays small and safe: each resource's `__provider` is a shim that loads the package's
 * compiled provider by module name; it holds no credentials, no host names and no copy of the driver.
 */
import { providerShim } from "../sdk/shim";
import { serializeProvider } from "./harness/serialize";

for (const kind of ["GuestNetwork", "EsxImage", "EsxInstance"] as const) {
  test(`${kind}'s __provider is a small shim without secrets or driver code`, async () => {
    process.env.ESX_TEST_SECRET = "s3cr3t-password";
    const text = await serializeProvider(providerShim(kind));
    expect(Buffer.byteLength(text)).toBeLessThan(16 * 1024);
    expect(text).toContain(`require("pulumi-esx/dist/provider/plugin")`);
    expect(text).toContain(JSON.stringify(kind));
    for (const leak of ["s3cr3t-password", "127.0.0.1", "esx:password", "RetrievePropertiesEx", "AddPortGroup", "vmware_soap_session"]) {
      expect(text).not.toContain(leak);
    }
  });
}
