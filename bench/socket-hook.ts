/**
 * Preloaded into a plugin process (NODE_OPTIONS=--require) for the scale section's what-if row only: every
 * https/http Agent the process creates gets maxSockets = BENCH_SOAP_SOCKETS (the provider's is 32 per host).
 * It changes nothing else; the regular rows run the plugin unmodified.
 */
// the module objects themselves (not import-star copies): the provider's compiled imports read through to them
import http = require("node:http");
import https = require("node:https");

const n = Number(process.env.BENCH_SOAP_SOCKETS);
if (n > 0) {
  const H = https.Agent;
  const P = http.Agent;
  (https as any).Agent = class extends H {
    constructor(o?: https.AgentOptions) {
      super({ ...o, maxSockets: n });
    }
  };
  (http as any).Agent = class extends P {
    constructor(o?: http.AgentOptions) {
      super({ ...o, maxSockets: n });
    }
  };
}
