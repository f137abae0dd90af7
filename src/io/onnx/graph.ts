/**
 * A small builder for ONNX graphs (opset 17), written with onnx-proto's protobuf classes.
 * Each method adds one node and returns its output's name, so a model reads as its formulas.
 */
import onnxProto, { type onnx } from "onnx-proto";
import type { Weight } from "../hf/weights.js";

const { onnx: proto } = onnxProto;
type Attr = number | number[] | string | FloatAttr;

export const OPSET = 17;
const FLOAT = proto.TensorProto.DataType.FLOAT;
const INT64 = proto.TensorProto.DataType.INT64;

/** A dimension: a fixed size or a symbolic name ("batch", "tokens"). */
export type Dim = number | string;

function valueInfo(name: string, elemType: number, dims: Dim[]): onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType,
        shape: {
          dim: dims.map((d) => (typeof d === "number" ? { dimValue: d } : { dimParam: d })),
        },
      },
    },
  };
}

export class Graph {
  private readonly nodes: onnx.INodeProto[] = [];
  private readonly initializers: onnx.ITensorProto[] = [];
  private readonly inputs: onnx.IValueInfoProto[] = [];
  private readonly outputs: onnx.IValueInfoProto[] = [];
  private readonly constants = new Map<string, string>();
  private counter = 0;

  constructor(readonly name: string) {}

  input(name: string, type: "float" | "int64", dims: Dim[]): string {
    this.inputs.push(valueInfo(name, type === "float" ? FLOAT : INT64, dims));
    return name;
  }

  output(value: string, name: string, type: "float" | "int64", dims: Dim[]): void {
    this.op("Identity", [value], {}, name);
    this.outputs.push(valueInfo(name, type === "float" ? FLOAT : INT64, dims));
  }

  /** A float initializer (a weight). */
  weight(name: string, w: Weight): string {
    this.initializers.push({ name, dims: w.shape, dataType: FLOAT, rawData: bytes(w.values) });
    return name;
  }

  /** An int64 vector constant, shared by value. */
  ints(values: number[]): string {
    const data = new BigInt64Array(values.map((v) => BigInt(v)));
    return this.constant(`i:${values.join(",")}`, [values.length], INT64, data);
  }

  /** A 0-d int64 constant (an index or a Range bound). */
  int(value: number): string {
    return this.constant(`i0:${value}`, [], INT64, BigInt64Array.of(BigInt(value)));
  }

  /** A float scalar constant. */
  scalar(value: number): string {
    return this.constant(`f:${value}`, [], FLOAT, Float32Array.of(value));
  }

  /** An initializer made once per distinct value (`key`), then reused by name. */
  private constant(
    key: string,
    dims: number[],
    dataType: number,
    data: Float32Array | BigInt64Array,
  ): string {
    const hit = this.constants.get(key);
    if (hit) return hit;
    const name = `const_${this.counter++}`;
    this.initializers.push({ name, dims, dataType, rawData: bytes(data) });
    this.constants.set(key, name);
    return name;
  }

  /** One node; returns its (first) output. */
  op(type: string, inputs: string[], attrs: Record<string, Attr> = {}, output?: string): string {
    const out = output ?? `${type.toLowerCase()}_${this.counter++}`;
    const attribute = Object.entries(attrs).map(([name, v]) => attribute_(name, v));
    this.nodes.push({
      opType: type,
      input: inputs,
      output: [out],
      name: `${type}_${this.counter++}`,
      attribute,
    });
    return out;
  }

  /** The model file's bytes. */
  serialize(docString: string): Uint8Array {
    const model = proto.ModelProto.create({
      irVersion: 8,
      opsetImport: [{ domain: "", version: OPSET }],
      producerName: "attention-lab",
      docString,
      graph: {
        name: this.name,
        node: this.nodes,
        initializer: this.initializers,
        input: this.inputs,
        output: this.outputs,
      },
    });
    return proto.ModelProto.encode(model).finish();
  }
}

function bytes(a: Float32Array | BigInt64Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength).slice();
}

function attribute_(name: string, v: Attr): onnx.IAttributeProto {
  const T = proto.AttributeProto.AttributeType;
  if (typeof v === "string") return { name, type: T.STRING, s: new TextEncoder().encode(v) };
  if (v instanceof FloatAttr) return { name, type: T.FLOAT, f: v.value };
  if (Array.isArray(v)) return { name, type: T.INTS, ints: v };
  return { name, type: T.INT, i: v };
}

/** A float attribute (epsilon, alpha): a whole number would otherwise be written as INT. */
export class FloatAttr {
  constructor(readonly value: number) {}
}
