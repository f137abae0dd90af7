import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, mock, test } from "node:test";
import { AttnError } from "../../src/errors.js";
import {
  bf16BitsToNumber,
  f16BitsToNumber,
  parseSafetensors,
  type RawTensor,
  readSafetensorsFile,
  type SafetensorsFile,
  serializeSafetensors,
  type TensorToWrite,
  toFloat32,
  toInt32,
  writeSafetensorsFile,
} from "../../src/io/safetensors.js";
import { Mulberry32 } from "../../src/tensor/random.js";

// ---------------------------------------------------------------------------
// Helpers

const enc = new TextEncoder();

/** A file from a header (object or raw JSON text) and a data buffer, no padding. */
function makeFile(header: unknown, data: Uint8Array | number = 0): Uint8Array {
  const json = enc.encode(typeof header === "string" ? header : JSON.stringify(header));
  const body = typeof data === "number" ? new Uint8Array(data) : data;
  const out = new Uint8Array(8 + json.length + body.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(body, 8 + json.length);
  return out;
}

function bytesOf(view: ArrayBufferView): Uint8Array {
  return new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
}

/** Assert that `fn` throws an AttnError whose message matches `re` (if given). */
function throwsAttn(fn: () => unknown, re?: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof AttnError, `expected AttnError, got ${String(e)}`);
    if (re) assert.match(e.message, re);
    return true;
  });
}

/** Parse `buf`: it must either parse (and then convert cleanly) or throw AttnError. */
function parsesOrAttnError(buf: Uint8Array): "ok" | "error" {
  let file: SafetensorsFile;
  try {
    file = parseSafetensors(buf, { source: "fuzz.safetensors" });
  } catch (e) {
    if (e instanceof AttnError) return "error";
    throw new Error(`non-AttnError thrown: ${String(e)}`, { cause: e });
  }
  for (const [name, t] of file.tensors) {
    assert.equal(
      toFloat32(t, name).length,
      t.shape.reduce((a, b) => a * b, 1),
    );
    try {
      toInt32(t, name);
    } catch (e) {
      if (!(e instanceof AttnError)) throw e;
    }
  }
  return "ok";
}

/** A valid file with several dtypes, used as a fuzzing seed. */
function sampleFile(): Uint8Array {
  return serializeSafetensors(
    {
      "layer.0.weight": {
        dtype: "F32",
        shape: [2, 3],
        data: new Float32Array([1, -2, 3.5, 0, 1e-8, -1e8]),
      },
      "layer.0.bias": { dtype: "F16", shape: [3], data: new Uint16Array([0x3c00, 0xc000, 0x7bff]) },
      ids: { dtype: "I64", shape: [2], data: new BigInt64Array([7n, -3n]) },
      mask: { dtype: "BOOL", shape: [2, 2], data: new Uint8Array([1, 0, 0, 1]) },
      scalar: { dtype: "BF16", shape: [], data: new Uint16Array([0x3f80]) },
      empty: { dtype: "I32", shape: [0, 4], data: new Int32Array(0) },
    },
    { format: "pt", note: "fuzz seed" },
  );
}

// ---------------------------------------------------------------------------

describe("safetensors round trip", () => {
  test("all dtypes, scalar and empty shapes, metadata", () => {
    const tensors: Record<string, TensorToWrite> = {
      f64: { dtype: "F64", shape: [2], data: new Float64Array([Math.PI, -1e300]) },
      f32: { dtype: "F32", shape: [2, 2], data: new Float32Array([1, 2, 3, -0.5]) },
      f16: { dtype: "F16", shape: [3], data: new Uint16Array([0x3c00, 0xc000, 0x0001]) },
      bf16: { dtype: "BF16", shape: [1, 2], data: new Uint16Array([0x3f80, 0xc000]) },
      i64: { dtype: "I64", shape: [3], data: new BigInt64Array([1n, -2n, 2n ** 40n]) },
      i32: { dtype: "I32", shape: [2], data: new Int32Array([-2147483648, 2147483647]) },
      i16: { dtype: "I16", shape: [2], data: new Int16Array([-32768, 32767]) },
      i8: { dtype: "I8", shape: [3], data: new Int8Array([-128, 0, 127]) },
      u8: { dtype: "U8", shape: [1, 1, 3], data: new Uint8Array([0, 128, 255]) },
      bool: { dtype: "BOOL", shape: [2], data: new Uint8Array([1, 0]) },
      scalar: { dtype: "F32", shape: [], data: new Float32Array([42]) },
      empty: { dtype: "F32", shape: [3, 0, 2], data: new Float32Array(0) },
      "0": { dtype: "U8", shape: [1], data: new Uint8Array([9]) },
    };
    const metadata = { format: "pt", "": "empty key", __proto__x: "ok", unicode: "héllo ✓" };
    const bytes = serializeSafetensors(tensors, metadata);
    const headerSize = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    assert.equal(headerSize % 8, 0, "header is padded to a multiple of 8");

    const file = parseSafetensors(bytes);
    assert.deepEqual(file.metadata, metadata);
    assert.deepEqual([...file.tensors.keys()].sort(), Object.keys(tensors).sort());
    for (const [name, t] of Object.entries(tensors)) {
      const got = file.tensors.get(name)!;
      assert.equal(got.dtype, t.dtype, name);
      assert.deepEqual(got.shape, t.shape, name);
      assert.deepEqual(got.bytes, bytesOf(t.data), name);
      // Writers sort by element size, so every tensor is aligned to its element size.
      const elem = t.data instanceof Uint16Array ? 2 : (t.data as Float32Array).BYTES_PER_ELEMENT;
      assert.equal((got.bytes.byteOffset - 8 - headerSize) % elem, 0, `${name} aligned`);
    }

    assert.deepEqual(toFloat32(file.tensors.get("f64")!), new Float32Array([Math.PI, -Infinity]));
    assert.deepEqual(toFloat32(file.tensors.get("f32")!), new Float32Array([1, 2, 3, -0.5]));
    assert.deepEqual(toFloat32(file.tensors.get("f16")!), new Float32Array([1, -2, 2 ** -24]));
    assert.deepEqual(toFloat32(file.tensors.get("bf16")!), new Float32Array([1, -2]));
    assert.deepEqual(toFloat32(file.tensors.get("i64")!), new Float32Array([1, -2, 2 ** 40]));
    assert.deepEqual(toFloat32(file.tensors.get("scalar")!), new Float32Array([42]));
    assert.deepEqual(toFloat32(file.tensors.get("empty")!), new Float32Array(0));
    assert.deepEqual(toFloat32(file.tensors.get("bool")!), new Float32Array([1, 0]));
    throwsAttn(() => toInt32(file.tensors.get("i64")!, "i64"), /value 1099511627776 at index 2/);
    assert.deepEqual(toInt32(tensorI64Small()), new Int32Array([5, -5]));
    assert.deepEqual(toInt32(file.tensors.get("i32")!), new Int32Array([-2147483648, 2147483647]));
    assert.deepEqual(toInt32(file.tensors.get("i16")!), new Int32Array([-32768, 32767]));
    assert.deepEqual(toInt32(file.tensors.get("i8")!), new Int32Array([-128, 0, 127]));
    assert.deepEqual(toInt32(file.tensors.get("u8")!), new Int32Array([0, 128, 255]));
    assert.deepEqual(toInt32(file.tensors.get("bool")!), new Int32Array([1, 0]));
  });

  test("Map input, raw Uint8Array data, no metadata, no tensors", () => {
    const m = new Map<string, TensorToWrite>([
      ["w", { dtype: "F32", shape: [1], data: new Uint8Array([0, 0, 0x80, 0x3f]) }],
    ]);
    const file = parseSafetensors(serializeSafetensors(m));
    assert.deepEqual(file.metadata, {});
    assert.deepEqual(toFloat32(file.tensors.get("w")!), new Float32Array([1]));

    const none = serializeSafetensors({});
    // "{}" padded with six spaces.
    assert.deepEqual(
      none,
      new Uint8Array([8, 0, 0, 0, 0, 0, 0, 0, 0x7b, 0x7d, 32, 32, 32, 32, 32, 32]),
    );
    assert.equal(parseSafetensors(none).tensors.size, 0);
  });

  test("a metadata key named __proto__ survives", () => {
    const md: Record<string, string> = JSON.parse('{"__proto__":"x","a":"b"}');
    const file = parseSafetensors(serializeSafetensors({}, md));
    assert.equal(Object.getOwnPropertyDescriptor(file.metadata, "__proto__")?.value, "x");
    assert.equal(file.metadata.a, "b");
  });

  test("typed arrays that are subarrays are written from their own range", () => {
    const big = new Float32Array([9, 1, 2, 9]);
    const file = parseSafetensors(
      serializeSafetensors({ x: { dtype: "F32", shape: [2], data: big.subarray(1, 3) } }),
    );
    assert.deepEqual(toFloat32(file.tensors.get("x")!), new Float32Array([1, 2]));
  });
});

function tensorI64Small(): RawTensor {
  const data = new BigInt64Array([5n, -5n]);
  return { dtype: "I64", shape: [2], bytes: bytesOf(data) };
}

describe("exact byte layout", () => {
  test("a tiny hand-built file", () => {
    // Tensors sort by element size then name: "b" (F32, 4 bytes) before "a" (U8).
    // Header JSON, counted by hand:
    //   {                                                  1   -> 1
    //   "__metadata__":{"k":"v"}                   14+1+9 = 24 -> 25
    //   ,"b":                                        1+3+1 = 5 -> 30
    //   {"dtype":"F32","shape":[],"data_offsets":[0,4]}     47 -> 77
    //   ,"a":                                               5 -> 82
    //   {"dtype":"U8","shape":[2],"data_offsets":[4,6]}     47 -> 129
    //   }                                                   1 -> 130
    // 130 bytes, padded with 6 spaces to 136 = 0x88.
    const json =
      '{"__metadata__":{"k":"v"},' +
      '"b":{"dtype":"F32","shape":[],"data_offsets":[0,4]},' +
      '"a":{"dtype":"U8","shape":[2],"data_offsets":[4,6]}}';
    assert.equal(json.length, 130);
    const expected = [
      ...[0x88, 0, 0, 0, 0, 0, 0, 0],
      ...Array.from(json, (c) => c.charCodeAt(0)),
      ...[0x20, 0x20, 0x20, 0x20, 0x20, 0x20],
      ...[0x00, 0x00, 0x80, 0x3f], // 1.0f little-endian
      ...[1, 2],
    ];
    assert.equal(expected.length, 150);
    const got = serializeSafetensors(
      {
        a: { dtype: "U8", shape: [2], data: new Uint8Array([1, 2]) },
        b: { dtype: "F32", shape: [], data: new Float32Array([1]) },
      },
      { k: "v" },
    );
    assert.deepEqual(got, new Uint8Array(expected));

    const file = parseSafetensors(new Uint8Array(expected));
    assert.deepEqual([...file.tensors.keys()], ["b", "a"]);
    assert.deepEqual(file.tensors.get("a"), {
      dtype: "U8",
      shape: [2],
      bytes: new Uint8Array([1, 2]),
    });
    assert.deepEqual(file.metadata, { k: "v" });
  });

  test("a header padded with spaces and an F32 tensor at an unaligned address", () => {
    const header = '{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}   ';
    const f = makeFile(header, bytesOf(new Float32Array([1.5, -3])));
    const shifted = new Uint8Array(f.length + 1);
    shifted.set(f, 1);
    const file = parseSafetensors(shifted.subarray(1));
    assert.deepEqual(toFloat32(file.tensors.get("x")!), new Float32Array([1.5, -3]));
  });
});

describe("float16 / bfloat16 decoding", () => {
  test("known float16 bit patterns", () => {
    assert.equal(f16BitsToNumber(0x3c00), 1);
    assert.equal(f16BitsToNumber(0xc000), -2);
    assert.equal(f16BitsToNumber(0x7bff), 65504);
    assert.equal(f16BitsToNumber(0x0001), 2 ** -24); // smallest subnormal
    assert.equal(f16BitsToNumber(0x03ff), 1023 * 2 ** -24); // largest subnormal
    assert.equal(f16BitsToNumber(0x0400), 2 ** -14); // smallest normal
    assert.equal(f16BitsToNumber(0x3555), 0.333251953125);
    assert.equal(f16BitsToNumber(0x7c00), Infinity);
    assert.equal(f16BitsToNumber(0xfc00), -Infinity);
    assert.ok(Number.isNaN(f16BitsToNumber(0x7e00)));
    assert.ok(Number.isNaN(f16BitsToNumber(0xfc01)));
    assert.ok(Object.is(f16BitsToNumber(0x8000), -0));
    assert.ok(Object.is(f16BitsToNumber(0x0000), 0));
  });

  test("known bfloat16 bit patterns", () => {
    assert.equal(bf16BitsToNumber(0x3f80), 1);
    assert.equal(bf16BitsToNumber(0xc000), -2);
    assert.equal(bf16BitsToNumber(0x477f), 65280); // 65504 is not a bf16 value; 65280 is
    assert.equal(bf16BitsToNumber(0x7f7f), (2 - 2 ** -7) * 2 ** 127); // largest finite
    assert.equal(bf16BitsToNumber(0x0001), 2 ** -133); // smallest subnormal
    assert.equal(bf16BitsToNumber(0x7f80), Infinity);
    assert.equal(bf16BitsToNumber(0xff80), -Infinity);
    assert.ok(Number.isNaN(bf16BitsToNumber(0x7fc0)));
    assert.ok(Object.is(bf16BitsToNumber(0x8000), -0));
  });

  test("all 65536 patterns of both formats match the arithmetic definition", () => {
    const f16 = new Uint16Array(65536);
    for (let i = 0; i < 65536; i++) f16[i] = i;
    const t16 = toFloat32({ dtype: "F16", shape: [65536], bytes: bytesOf(f16) });
    const tbf = toFloat32({ dtype: "BF16", shape: [65536], bytes: bytesOf(f16) });
    for (let h = 0; h < 65536; h++) {
      const s = h & 0x8000 ? -1 : 1;
      // float16: 5 exponent bits (bias 15), 10 mantissa bits.
      let e = (h >> 10) & 0x1f;
      let m = h & 0x3ff;
      let want =
        e === 0
          ? s * m * 2 ** -24
          : e === 31
            ? m
              ? NaN
              : s * Infinity
            : s * (1024 + m) * 2 ** (e - 25);
      if (!Object.is(t16[h], want)) assert.fail(`f16 0x${h.toString(16)}: ${t16[h]} != ${want}`);
      // bfloat16: 8 exponent bits (bias 127), 7 mantissa bits.
      e = (h >> 7) & 0xff;
      m = h & 0x7f;
      want =
        e === 0
          ? s * m * 2 ** -133
          : e === 255
            ? m
              ? NaN
              : s * Infinity
            : s * (128 + m) * 2 ** (e - 134);
      if (!Object.is(tbf[h], want)) assert.fail(`bf16 0x${h.toString(16)}: ${tbf[h]} != ${want}`);
    }
  });
});

describe("conversions", () => {
  test("toInt32 range-checks I64 and rejects floats", () => {
    const big: RawTensor = {
      dtype: "I64",
      shape: [2],
      bytes: bytesOf(new BigInt64Array([1n, 2n ** 31n])),
    };
    throwsAttn(() => toInt32(big, "ids"), /tensor "ids" \(I64\) has value 2147483648 at index 1/);
    const low: RawTensor = {
      dtype: "I64",
      shape: [1],
      bytes: bytesOf(new BigInt64Array([-(2n ** 31n) - 1n])),
    };
    throwsAttn(() => toInt32(low), /-2147483649/);
    const edge: RawTensor = {
      dtype: "I64",
      shape: [2],
      bytes: bytesOf(new BigInt64Array([-(2n ** 31n), 2n ** 31n - 1n])),
    };
    assert.deepEqual(toInt32(edge), new Int32Array([-2147483648, 2147483647]));
    throwsAttn(
      () => toInt32({ dtype: "F32", shape: [0], bytes: new Uint8Array(0) }),
      /floating-point/,
    );
  });

  test("inconsistent RawTensors are rejected", () => {
    throwsAttn(() => toFloat32({ dtype: "F32", shape: [3], bytes: new Uint8Array(8) }, "w"), /"w"/);
    throwsAttn(() => toInt32({ dtype: "I8", shape: [-1], bytes: new Uint8Array(0) }));
  });
});

describe("serialize rejects bad input", () => {
  test("wrong byte length, wrong array type, bad shape, reserved name, bad metadata", () => {
    throwsAttn(
      () => serializeSafetensors({ w: { dtype: "F32", shape: [3], data: new Float32Array(2) } }),
      /tensor "w".*need 12 bytes, but the data has 8/,
    );
    throwsAttn(
      () => serializeSafetensors({ w: { dtype: "F32", shape: [2], data: new Float64Array(1) } }),
      /needs a Float32Array/,
    );
    throwsAttn(() =>
      serializeSafetensors({ w: { dtype: "F32", shape: [1.5], data: new Float32Array(1) } }),
    );
    throwsAttn(() =>
      serializeSafetensors({ __metadata__: { dtype: "U8", shape: [0], data: new Uint8Array(0) } }),
    );
    throwsAttn(() =>
      serializeSafetensors({ w: { dtype: "U32" as "U8", shape: [0], data: new Uint8Array(0) } }),
    );
    throwsAttn(() => serializeSafetensors({}, { a: 1 as unknown as string }), /metadata "a"/);
  });
});

// ---------------------------------------------------------------------------

describe("parse rejects malformed files", () => {
  const f32 = (shape: number[], begin: number, end: number) => ({
    dtype: "F32",
    shape,
    data_offsets: [begin, end],
  });

  test("the documented message format", () => {
    const file = makeFile({ w: f32([25], 0, 100) }, 64);
    assert.throws(
      () => parseSafetensors(file, { source: "model.safetensors" }),
      new AttnError(
        'model.safetensors: tensor "w" data_offsets [0, 100] exceed the data buffer (64 bytes)',
      ),
    );
  });

  test("every truncation of a valid file", () => {
    const good = sampleFile();
    parseSafetensors(good);
    for (let n = 0; n < good.length; n++) throwsAttn(() => parseSafetensors(good.subarray(0, n)));
  });

  test("huge or wrong header size fields", () => {
    const good = sampleFile();
    const sizes = [2n ** 63n, 2n ** 64n - 1n, 0xffffffffn, BigInt(good.length - 8 + 1), 0n, 1n];
    for (const size of sizes) {
      const bad = good.slice();
      new DataView(bad.buffer).setBigUint64(0, size, true);
      throwsAttn(() => parseSafetensors(bad, { source: "m.st" }), /^m\.st: header/);
    }
    // Within the file but over the configured limit.
    throwsAttn(() => parseSafetensors(good, { maxHeaderBytes: 16 }), /exceeds the limit of 16/);
  });

  test("bad data_offsets", () => {
    const cases: [unknown, number, RegExp][] = [
      [{ a: f32([2], 0, 8), b: f32([2], 4, 12) }, 12, /tensor "b".*overlap tensor "a"/],
      [{ a: f32([2], 0, 8), b: f32([0], 4, 4) }, 8, /overlap/],
      [{ a: f32([1], 4, 0) }, 8, /end before begin/],
      [{ a: f32([2], 0, 12) }, 8, /exceed the data buffer \(8 bytes\)/],
      [{ a: f32([3], 0, 8) }, 8, /8 bytes\) but dtype F32 and shape \[3\] need 12 bytes/],
      [{ a: f32([1], 4, 8) }, 8, /gap at bytes \[0, 4\]/],
      [{ a: f32([1], 0, 4) }, 8, /4 unused trailing bytes/],
      [{ a: f32([1], -4, 0) }, 0, /non-negative integers/],
      [{ a: f32([1], 0.5, 4.5) }, 8, /non-negative integers/],
      [{ a: { dtype: "F32", shape: [1], data_offsets: [0, 4, 8] } }, 8, /data_offsets/],
      [{ a: { dtype: "F32", shape: [1], data_offsets: ["0", "4"] } }, 4, /data_offsets/],
      [{ a: { dtype: "F32", shape: [1] } }, 4, /data_offsets undefined/],
      [{ a: f32([1], 0, 2 ** 60) }, 4, /non-negative integers/],
      [{ a: f32([1], 0, 1e300) }, 4, /non-negative integers/],
    ];
    for (const [header, dataLen, re] of cases) {
      throwsAttn(() => parseSafetensors(makeFile(header, dataLen), { source: "x.st" }), re);
    }
  });

  test("bad dtypes, shapes, entries and metadata", () => {
    const cases: [unknown, number, RegExp][] = [
      [
        { a: { dtype: "F8_E4M3", shape: [1], data_offsets: [0, 1] } },
        1,
        /unsupported dtype "F8_E4M3"/,
      ],
      [{ a: { dtype: "f32", shape: [1], data_offsets: [0, 4] } }, 4, /unsupported dtype/],
      [{ a: { dtype: "toString", shape: [1], data_offsets: [0, 4] } }, 4, /unsupported dtype/],
      [{ a: { shape: [1], data_offsets: [0, 4] } }, 4, /unsupported dtype undefined/],
      [{ a: f32([-1], 0, 0) }, 0, /invalid dimension -1/],
      [{ a: f32([1.5], 0, 4) }, 4, /invalid dimension 1.5/],
      [{ a: { dtype: "F32", shape: "1", data_offsets: [0, 4] } }, 4, /not an array/],
      [{ a: f32([2 ** 30, 2 ** 30, 2 ** 30], 0, 4) }, 4, /too many elements/],
      [{ a: f32([2 ** 26, 2 ** 26], 0, 4) }, 4, /need 18014398509481984 bytes/],
      [{ a: [1, 2] }, 0, /tensor "a" is described by \[1,2\], not an object/],
      [{ a: null }, 0, /not an object/],
      [{ __metadata__: { k: 1 } }, 0, /"__metadata__" entry "k" has value 1, not a string/],
      [{ __metadata__: ["a"] }, 0, /"__metadata__" is \["a"\], not an object/],
      [{ __metadata__: null }, 0, /not an object/],
    ];
    for (const [header, dataLen, re] of cases) {
      throwsAttn(() => parseSafetensors(makeFile(header, dataLen), { source: "x.st" }), re);
    }
    // A zero dimension makes an empty tensor even next to huge dimensions.
    const ok = parseSafetensors(makeFile({ a: f32([2 ** 52, 0, 2 ** 52], 0, 0) }));
    assert.equal(ok.tensors.get("a")!.bytes.length, 0);
  });

  test("non-object, invalid JSON and invalid UTF-8 headers", () => {
    const texts: [string | Uint8Array, RegExp][] = [
      ["[1,2,3]", /not start with "\{"/],
      ["null  ", /not start with/],
      ['"str"', /not start with/],
      [" {}", /not start with/],
      ["{", /header size 1 is too small/],
      ['{"a":}', /not valid JSON/],
      ["{}}", /not valid JSON/],
      ['{"a":1} x', /not valid JSON/],
      ['{"a":"\u0000"}', /not valid JSON/],
      ["{" + "[".repeat(100_000), /header nests 100001 levels deep/],
      [new Uint8Array([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d]), /not valid UTF-8/],
      [new Uint8Array([0x7b, 0x22, 0xed, 0xa0, 0x80, 0x22, 0x3a, 0x31, 0x7d]), /not valid UTF-8/],
      ['{"a":1}', /tensor "a" is described by 1/],
    ];
    for (const [text, re] of texts) {
      const json = typeof text === "string" ? enc.encode(text) : text;
      const f = new Uint8Array(8 + json.length);
      new DataView(f.buffer).setBigUint64(0, BigInt(json.length), true);
      f.set(json, 8);
      throwsAttn(() => parseSafetensors(f, { source: "h.st" }), re);
    }
  });

  test("fuzz: random byte strings and single-byte mutations", { timeout: 5000 }, () => {
    const rng = new Mulberry32(20240601);
    let ok = 0;
    for (let i = 0; i < 2000; i++) {
      const len = rng.intIn(0, 96);
      const buf = new Uint8Array(len);
      for (let j = 0; j < len; j++) buf[j] = rng.nextU32() & 0xff;
      // Half the time, a plausible header size so the JSON path gets exercised.
      if (len >= 8 && i % 2 === 0) {
        new DataView(buf.buffer).setBigUint64(0, BigInt(rng.intIn(0, len - 8)), true);
        buf[8] = 0x7b;
      }
      if (parsesOrAttnError(buf) === "ok") ok++;
    }
    assert.equal(ok, 0, "random bytes should not form a valid file");

    const good = sampleFile();
    const counts = { ok: 0, error: 0 };
    for (let i = 0; i < 2000; i++) {
      const bad = good.slice();
      const pos = rng.intIn(0, bad.length - 1);
      bad[pos] = (bad[pos] + rng.intIn(1, 255)) & 0xff; // always a real change
      counts[parsesOrAttnError(bad)]++;
    }
    // Mutations in the data region (and some in JSON whitespace/strings) stay valid.
    assert.ok(counts.ok > 100 && counts.error > 100, JSON.stringify(counts));
  });
});

// ---------------------------------------------------------------------------

describe("files on disk", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "attn-safetensors-"));
  const target = path.join(dir, "model.safetensors");
  const tensors = { w: { dtype: "F32" as const, shape: [2], data: new Float32Array([1, 2]) } };

  test("write then read, no temp file left", () => {
    writeSafetensorsFile(target, tensors, { step: "1" });
    assert.deepEqual(fs.readdirSync(dir), ["model.safetensors"]);
    const file = readSafetensorsFile(target);
    assert.deepEqual(file.metadata, { step: "1" });
    assert.deepEqual(toFloat32(file.tensors.get("w")!), new Float32Array([1, 2]));
    // Overwrite.
    writeSafetensorsFile(target, tensors, { step: "2" });
    assert.deepEqual(readSafetensorsFile(target).metadata, { step: "2" });
    assert.deepEqual(fs.readdirSync(dir), ["model.safetensors"]);
  });

  test("a failed write leaves the previous file intact", () => {
    writeSafetensorsFile(target, tensors, { step: "good" });
    const before = fs.readFileSync(target);

    // Inconsistent data: rejected before anything touches the disk.
    throwsAttn(
      () =>
        writeSafetensorsFile(target, {
          w: { dtype: "F32", shape: [3], data: new Float32Array(2) },
        }),
      /model\.safetensors: cannot serialize tensor "w"/,
    );
    assert.deepEqual(fs.readFileSync(target), before);

    // The disk fails halfway through the write.
    const realWrite = fs.writeSync;
    const m = mock.method(
      fs,
      "writeSync",
      (fd: number, buf: Uint8Array, off: number, n: number) => {
        if (n > 4) return realWrite(fd, buf, off, Math.floor(n / 2));
        throw Object.assign(new Error("ENOSPC: no space left on device"), { code: "ENOSPC" });
      },
    );
    try {
      throwsAttn(
        () => writeSafetensorsFile(target, tensors, { step: "bad" }),
        /model\.safetensors: cannot write file: ENOSPC/,
      );
      assert.ok(m.mock.callCount() >= 2, "the write really started");
    } finally {
      m.mock.restore();
    }
    assert.deepEqual(fs.readFileSync(target), before);
    assert.deepEqual(fs.readdirSync(dir), ["model.safetensors"]);
    assert.deepEqual(readSafetensorsFile(target).metadata, { step: "good" });
  });

  test("the rename fails (target is a directory): temp file removed", () => {
    const sub = path.join(dir, "adir");
    fs.mkdirSync(sub);
    fs.writeFileSync(path.join(sub, "keep"), "x");
    throwsAttn(() => writeSafetensorsFile(sub, tensors), /adir: cannot write file/);
    assert.deepEqual(fs.readdirSync(dir).sort(), ["adir", "model.safetensors"]);
    fs.rmSync(sub, { recursive: true });
  });

  test("missing directory and missing file", () => {
    throwsAttn(
      () => writeSafetensorsFile(path.join(dir, "nope", "m.safetensors"), tensors),
      /nope.m\.safetensors: cannot write file/,
    );
    throwsAttn(
      () => readSafetensorsFile(path.join(dir, "absent.safetensors")),
      /absent\.safetensors: cannot read file/,
    );
  });

  test("read errors name the file", () => {
    const p = path.join(dir, "broken.safetensors");
    fs.writeFileSync(p, new Uint8Array([1, 2, 3]));
    throwsAttn(
      () => readSafetensorsFile(p),
      new RegExp(`^${p.replace(/[.\\]/g, "\\$&")}: file is too short`),
    );
    fs.rmSync(p);
  });

  test("cleanup", () => {
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
