/**
 * Errors of the vSphere layer. A host fault carries the vSphere fault name (e.g. "InvalidLogin",
 * "DuplicateName"), the host and the host's message; transport errors are separate so that only they are
 * retried. Messages never contain request bodies (a Login body carries the password).
 */
export class VimFault extends Error {
  constructor(
    readonly faultName: string,
    readonly host: string,
    readonly hostMessage: string,
    readonly operation: string,
    readonly detail: Record<string, unknown> = {},
  ) {
    super(`${operation} on ${host} failed: ${faultName}${hostMessage ? `: ${hostMessage}` : ""}`);
    this.name = "VimFault";
  }

  is(...names: string[]): boolean {
    return names.includes(this.faultName);
  }
}

/** The host could not be reached or the connection broke: nothing is known about what the host did. */
export class VimTransportError extends Error {
  constructor(
    readonly host: string,
    readonly operation: string,
    readonly causeMessage: string,
    readonly code?: string,
  ) {
    super(`${operation} on ${host}: transport error: ${causeMessage}`);
    this.name = "VimTransportError";
  }
}

export class VimAuthError extends Error {
  constructor(
    readonly host: string,
    readonly username: string,
    hostMessage: string,
  ) {
    super(
      `authentication failed for user "${username}" on ESX host ${host}: ${hostMessage || "InvalidLogin"}. ` +
        `Check esx:username and esx:password; the provider does not retry, so that the host does not lock the account.`,
    );
    this.name = "VimAuthError";
  }
}

export class VimTlsError extends Error {
  constructor(
    readonly host: string,
    message: string,
    readonly seenSha256?: string,
    readonly seenSha1?: string,
  ) {
    super(message);
    this.name = "VimTlsError";
  }
}

/** Faults a free ESXi license answers for API writes ("Current license or ESXi version prohibits ..."). */
export function licenseHint(f: VimFault): string | undefined {
  if (f.is("RestrictedVersion", "RestrictedByAdministrator") || /license or ESXi version prohibits/i.test(f.hostMessage)) {
    return (
      `the ESX host ${f.host} refuses API writes under its current license (${f.faultName}: ${f.hostMessage}). ` +
      `Free ESXi licenses allow the API to read only: assign a licensed edition (or evaluation mode) to the host.`
    );
  }
  return undefined;
}

export class VimLicenseError extends Error {
  constructor(
    readonly fault: VimFault,
    message: string,
  ) {
    super(message);
    this.name = "VimLicenseError";
  }
}
