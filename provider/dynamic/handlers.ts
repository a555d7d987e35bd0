/**
 * The plugin's entry as states written by pulumi-esx 0.1 name it: their serialized providers load
 * `pulumi-esx/dist/provider/dynamic/handlers`. It hands over to the entry at the top (provider/plugin.ts); new
 * resources load that directly. The one module here allowed to reach up (see .dependency-cruiser.js).
 */
export { handlers } from "../plugin";
export type { Kind } from "../plugin";
