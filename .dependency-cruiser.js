/**
 * The layers of the provider only call downward (docs/architecture.md). `npm run lint` runs this with
 * dependency-cruiser; a forbidden import fails CI.
 *
 *   provider/plugin.ts (entry: kind -> handlers)
 *     -> provider/resources (handlers + zod schemas) -> provider/driver (use cases), provider/dynamic, provider/settings
 *   provider/driver -> provider/esx (one wrapper per managed object) -> provider/vim (SOAP, typed vim25)
 *   provider/driver -> provider/glance, provider/vmdk, provider/guest, provider/net (beside esx)
 *   sdk -> provider/resources schemas (types only)
 */
const layer = (dirs) => `^provider/(${dirs.join("|")})(/|\\.ts$)`;

module.exports = {
  forbidden: [
    {
      name: "resources-not-to-protocol",
      comment: "Handlers call the driver, never the vSphere layers (provider/vim, provider/esx).",
      severity: "error",
      from: { path: "^provider/resources/" },
      to: { path: layer(["vim", "esx"]) },
    },
    {
      name: "resources-through-driver",
      comment: "Handlers reach Glance through the driver's use cases (the runtime builds the client); only Glance's attribute names are shared.",
      severity: "error",
      from: { path: "^provider/resources/" },
      to: { path: "^provider/glance/", pathNot: "^provider/glance/image\\.ts$" },
    },
    {
      name: "dynamic-not-to-resources",
      comment: "The dynamic-provider plumbing serves the resources without knowing them: the kind -> handlers registry is provider/plugin.ts.",
      severity: "error",
      from: { path: "^provider/dynamic/" },
      to: { path: `${layer(["resources"])}|^provider/plugin\\.ts$` },
    },
    {
      name: "glance-not-to-settings",
      comment: "Glance clients take typed options; reading stack config is provider/settings.ts's job.",
      severity: "error",
      from: { path: "^provider/glance/" },
      to: { path: "^provider/settings\\.ts$" },
    },
    {
      name: "vim-not-up",
      comment: "The SOAP layer depends on nothing above it.",
      severity: "error",
      from: { path: "^provider/vim/" },
      to: {
        path: `${layer(["esx", "driver", "resources", "dynamic", "schema", "glance", "guest", "net", "vmdk"])}|^provider/(plugin|settings|log|hardware)\\.ts$`,
      },
    },
    {
      name: "esx-only-vim",
      comment: "The managed-object wrappers call vim only: no use cases, no handlers, no settings.",
      severity: "error",
      from: { path: "^provider/esx/" },
      to: { path: `${layer(["driver", "resources", "dynamic", "schema", "glance"])}|^provider/(plugin|settings|log)\\.ts$` },
    },
    {
      name: "driver-not-pulumi",
      comment: "The use cases know nothing of Pulumi: no @pulumi packages, no engine log, no handlers, schemas or plugin plumbing.",
      severity: "error",
      from: { path: "^provider/driver/" },
      to: { path: `^node_modules/@pulumi/|${layer(["resources", "dynamic", "schema"])}|^provider/(plugin|settings|log)\\.ts$` },
    },
    {
      name: "driver-through-esx",
      comment: "The use cases reach the host through provider/esx; from provider/vim they take only types, faults and the connection shape.",
      severity: "error",
      from: { path: "^provider/driver/" },
      to: { path: "^provider/vim/", pathNot: "^provider/vim/(faults|config)\\.ts$", dependencyTypesNot: ["type-only"] },
    },
    {
      name: "sdk-types-only",
      comment: "The sdk takes only types from the provider (the schemas), plus the table of secret outputs.",
      severity: "error",
      from: { path: "^sdk/" },
      to: { path: "^provider/", pathNot: "^provider/schema/secrets\\.ts$", dependencyTypesNot: ["type-only"] },
    },
    {
      name: "no-circular",
      comment: "No import cycles in the provider.",
      severity: "error",
      from: { path: "^provider/" },
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    exclude: { path: "^(dist|node_modules)/" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    enhancedResolveOptions: { exportsFields: ["exports"], conditionNames: ["import", "require", "node", "default"] },
  },
};
