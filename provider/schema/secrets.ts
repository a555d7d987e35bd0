/**
 * Resource properties that may carry secrets (cloud-init user-data often holds passwords and keys): the sdk
 * passes them as secret inputs and `additionalSecretOutputs` (state keeps input and output encrypted, the display
 * masks them, `--diff` included), schema.json
 * marks them `secret: true`, and their TSDoc says so. Credentials themselves (esx:password, esx:glanceToken)
 * are stack config, never resource properties.
 */
export const SECRET_OUTPUTS: Record<string, string[]> = {
  EsxInstance: ["userData"],
};

export const SECRET_NOTE = "Secret: a secret input and output, kept encrypted in state and masked in pulumi's output.";
