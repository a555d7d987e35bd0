/**
 * A tiny in-process `pulumirpc.Engine` gRPC server: the address passed to the plugin as its <engine> argument.
 * It records Log calls. Note: the Node dynamic-provider plugin of @pulumi/pulumi 3.248 only checks that the
 * argument is present and never connects to it; `pulumi.log.*` inside the plugin connects only when
 * PULUMI_NODEJS_ENGINE is set (the real engine does not set it), otherwise it prints to stdout/stderr, which
 * the engine passes through to the user (pulumi/pulumi#18253). PluginClient records both.
 * pulumi-esx's provider/log.ts does connect to this address itself and sends Log, as Go providers do: those
 * calls arrive here with source "engine".
 */
import { emptyproto, engproto, engrpc, grpc } from "./grpc";

export type Severity = "debug" | "info" | "warning" | "error";

export interface EngineLog {
  /** "engine": a pulumirpc.Engine/Log call; "stdout"/"stderr": a line the plugin printed. */
  source: "engine" | "stdout" | "stderr";
  severity: Severity;
  message: string;
  urn: string;
}

/** pulumirpc.LogSeverity from the generated stubs (DEBUG 0 ... ERROR 3), as the real engine decodes it. */
const SEVERITIES: Record<number, Severity> = {
  [engproto.LogSeverity.DEBUG]: "debug",
  [engproto.LogSeverity.INFO]: "info",
  [engproto.LogSeverity.WARNING]: "warning",
  [engproto.LogSeverity.ERROR]: "error",
};

export interface EngineServer {
  address: string;
  stop(): Promise<void>;
}

export async function startEngineServer(onLog: (l: EngineLog) => void): Promise<EngineServer> {
  const server = new grpc.Server();
  const impl = {
    log(call: any, cb: any) {
      const r = call.request;
      onLog({ source: "engine", severity: SEVERITIES[r.getSeverity()], message: r.getMessage(), urn: r.getUrn() });
      cb(null, new emptyproto.Empty());
    },
    getRootResource(_call: any, cb: any) {
      cb(null, new engproto.GetRootResourceResponse());
    },
    setRootResource(_call: any, cb: any) {
      cb(null, new engproto.SetRootResourceResponse());
    },
    startDebugging(_call: any, cb: any) {
      cb({ code: grpc.status.UNIMPLEMENTED, details: "no debugging in the harness" });
    },
    requirePulumiVersion(_call: any, cb: any) {
      cb(null, new engproto.RequirePulumiVersionResponse());
    },
  };
  server.addService(engrpc.EngineService, impl);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  return {
    address: `127.0.0.1:${port}`,
    stop: () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())),
  };
}
