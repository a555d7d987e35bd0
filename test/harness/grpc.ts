/**
 * The gRPC library and protobuf modules exactly as @pulumi/pulumi resolves them, so that messages and
 * clients built here are wire-compatible with the dynamic-provider plugin.
 */
import * as path from "node:path";

/** Directory of the installed @pulumi/pulumi package. */
export const PULUMI_DIR = path.dirname(require.resolve("@pulumi/pulumi/package.json"));

/** The `@grpc/grpc-js` copy that @pulumi/pulumi itself loads. */
export const grpc: typeof import("@grpc/grpc-js") = require(require.resolve("@grpc/grpc-js", { paths: [PULUMI_DIR] }));

export const provrpc: typeof import("@pulumi/pulumi/proto/provider_grpc_pb") = require(path.join(PULUMI_DIR, "proto/provider_grpc_pb"));
export const provproto: typeof import("@pulumi/pulumi/proto/provider_pb") = require(path.join(PULUMI_DIR, "proto/provider_pb"));
export const plugproto: typeof import("@pulumi/pulumi/proto/plugin_pb") = require(path.join(PULUMI_DIR, "proto/plugin_pb"));
export const engrpc: typeof import("@pulumi/pulumi/proto/engine_grpc_pb") = require(path.join(PULUMI_DIR, "proto/engine_grpc_pb"));
export const engproto: typeof import("@pulumi/pulumi/proto/engine_pb") = require(path.join(PULUMI_DIR, "proto/engine_pb"));
export const statusproto: typeof import("@pulumi/pulumi/proto/status_pb") = require(path.join(PULUMI_DIR, "proto/status_pb"));

const gp = (m: string) => require(require.resolve(`google-protobuf/google/protobuf/${m}`, { paths: [PULUMI_DIR] }));
const structproto: typeof import("google-protobuf/google/protobuf/struct_pb") = gp("struct_pb");
export const emptyproto: typeof import("google-protobuf/google/protobuf/empty_pb") = gp("empty_pb");

/** The value the engine sends for properties that are not known yet (preview). */
export const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
/** Secret marker used in Configure args (`rpc.specialSigKey` / `rpc.specialSecretSig`). */
export const SIG_KEY = "4dabf18193072939515e22adb298388d";
export const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

export type Props = Record<string, any>;

/** Plain JSON object -> google.protobuf.Struct (throws on undefined, Buffers, Dates, as the engine would fail). */
export function toStruct(obj: Props): import("google-protobuf/google/protobuf/struct_pb").Struct {
  return structproto.Struct.fromJavaScript(obj);
}

export function fromStruct(s: { toJavaScript(): Props } | undefined): Props | undefined {
  return s ? (s.toJavaScript() as Props) : undefined;
}
