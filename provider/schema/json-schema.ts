/** The shapes the schema generators read and write: zod's JSON Schema output, and Pulumi's package schema. */
import { z } from "zod";

/** The parts of a JSON Schema (as zod's toJSONSchema writes it) that the generators read. */
export interface JsonSchema {
  type?: string | string[];
  description?: string;
  default?: unknown;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  items?: JsonSchema;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  enum?: unknown[];
  const?: unknown;
  additionalProperties?: JsonSchema | boolean;
}

/** A zod schema as JSON Schema (its input or output side); refinements zod cannot express are left out. */
export function jsonSchemaOf(schema: z.ZodType, io: "input" | "output"): JsonSchema {
  return z.toJSONSchema(schema, { io, unrepresentable: "any" }) as JsonSchema;
}

/** A property in Pulumi's package schema. */
export interface PropertySpec {
  description?: string;
  default?: unknown;
  type?: string;
  items?: PropertySpec;
  $ref?: string;
  additionalProperties?: PropertySpec;
  replaceOnChanges?: boolean;
  secret?: boolean;
}

export interface ObjectTypeSpec {
  type: "object";
  properties: Record<string, PropertySpec>;
  required: string[];
}

export interface ResourceSchemaSpec {
  description: string;
  properties: Record<string, PropertySpec>;
  required: string[];
  inputProperties: Record<string, PropertySpec>;
  requiredInputs: string[];
}

export interface PackageSchema {
  name: string;
  displayName: string;
  description: string;
  license: string;
  keywords: string[];
  language: { nodejs: { packageName: string } };
  config: { variables: Record<string, PropertySpec> };
  types: Record<string, ObjectTypeSpec>;
  resources: Record<string, ResourceSchemaSpec>;
}
