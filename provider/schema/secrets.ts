/**
 * Resource properties that may carry secrets (cloud-init user-data often holds passwords and keys): the sdk
 * passes them as `additionalSecretOutputs` (state keeps them encrypted, the display masks them), schema.json
 * marks them `secret: true`, and their TSDoc says so. Credentials themselves (esx:password, esx:glanceToken)
 * are stack config, never resource properties.
 */
export const SECRET_OUTPUTS: Record<string, string[]> = {
  EsxInstance: ["userData"],
};

export const SECRET_NOTE = "Secret: kept encrypted in state and masked in output (additionalSecretOutputs).";
