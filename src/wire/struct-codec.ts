/**
 * A C struct described once as a field list; offsets follow the C ABI (natural alignment),
 * so the layout test can compare them with the BTF of the compiled BPF object.
 */

export type FieldType = 'u8' | 'u16' | 'u32' | 's32' | 'u64' | { char: number } | { u8array: number };

export interface FieldSpec {
  readonly name: string;
  readonly type: FieldType;
}

export interface FieldLayout extends FieldSpec {
  readonly offset: number;
  readonly size: number;
}

export type FieldValue = number | bigint | string | number[];

function sizeAlign(t: FieldType): [number, number] {
  if (typeof t === 'string') {
    const size = { u8: 1, u16: 2, u32: 4, s32: 4, u64: 8 }[t];
    return [size, size];
  }
  if ('char' in t) return [t.char, 1];
  return [t.u8array, 1];
}

export class StructCodec<T extends Record<string, FieldValue>> {
  readonly fields: readonly FieldLayout[];
  readonly size: number;

  constructor(readonly name: string, specs: readonly FieldSpec[]) {
    let off = 0;
    let maxAlign = 1;
    const out: FieldLayout[] = [];
    for (const spec of specs) {
      const [size, align] = sizeAlign(spec.type);
      off = Math.ceil(off / align) * align;
      out.push({ ...spec, offset: off, size });
      off += size;
      maxAlign = Math.max(maxAlign, align);
    }
    this.fields = out;
    this.size = Math.ceil(off / maxAlign) * maxAlign;
  }

  decode(buf: Buffer, base = 0): T {
    const obj: Record<string, FieldValue> = {};
    for (const f of this.fields) {
      const o = base + f.offset;
      const t = f.type;
      if (t === 'u8') obj[f.name] = buf.readUInt8(o);
      else if (t === 'u16') obj[f.name] = buf.readUInt16LE(o);
      else if (t === 'u32') obj[f.name] = buf.readUInt32LE(o);
      else if (t === 's32') obj[f.name] = buf.readInt32LE(o);
      else if (t === 'u64') obj[f.name] = buf.readBigUInt64LE(o);
      else if ('char' in t) {
        const raw = buf.subarray(o, o + t.char);
        const nul = raw.indexOf(0);
        obj[f.name] = raw.subarray(0, nul < 0 ? raw.length : nul).toString('utf8');
      } else obj[f.name] = [...buf.subarray(o, o + t.u8array)];
    }
    return obj as T;
  }

  encode(values: Partial<T>): Buffer {
    const buf = Buffer.alloc(this.size);
    for (const f of this.fields) {
      const v = values[f.name];
      if (v === undefined) continue;
      const t = f.type;
      if (t === 'u8') buf.writeUInt8(Number(v), f.offset);
      else if (t === 'u16') buf.writeUInt16LE(Number(v), f.offset);
      else if (t === 'u32') buf.writeUInt32LE(Number(v), f.offset);
      else if (t === 's32') buf.writeInt32LE(Number(v), f.offset);
      else if (t === 'u64') buf.writeBigUInt64LE(BigInt(v as bigint | number), f.offset);
      else if ('char' in t) buf.write(String(v).slice(0, t.char - 1), f.offset, 'utf8');
      else (v as number[]).slice(0, t.u8array).forEach((b, i) => buf.writeUInt8(b, f.offset + i));
    }
    return buf;
  }
}
