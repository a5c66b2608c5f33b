import { ClickHouseError, ErrorCode } from './clickhouse-error';

/**
 * The protocol revision from which a Native block's column header carries a "custom serialization"
 * byte (ClickHouse's DBMS_MIN_REVISION_WITH_CUSTOM_SERIALIZATION). clickhouse-go, the driver of
 * Grafana's ClickHouse data source, sends client_protocol_version=54460 on every HTTP request and
 * reads Native blocks in that layout; it has no way to ask for another.
 */
export const MIN_REVISION_WITH_CUSTOM_SERIALIZATION = 54454;

/** BlockInfo as ClickHouse writes it before each block for a client with a revision: not overflows, bucket -1, end. */
const BLOCK_INFO = Buffer.from([0x01, 0x00, 0x02, 0xff, 0xff, 0xff, 0xff, 0x00]);

/**
 * Native blocks as ClickHouse writes them for `client_protocol_version` >= 54454, made from the
 * blocks chdb writes (revision 0: it takes no protocol version): BlockInfo before each block and a
 * zero "custom serialization" byte after each column's type. The column data is the same in both,
 * but it lies between the headers, so each column's data is walked to find where it ends. Types
 * whose data this walk does not know (Dynamic, Variant, JSON, AggregateFunction, …) are refused.
 */
export function nativeForRevision(blocks: Uint8Array): Buffer {
  const reader = new NativeReader(Buffer.from(blocks.buffer, blocks.byteOffset, blocks.byteLength));
  const parts: Buffer[] = [];
  while (!reader.done()) {
    parts.push(BLOCK_INFO);
    const counts = reader.pos;
    const columns = reader.varint();
    const rows = reader.varint();
    parts.push(reader.since(counts));
    for (let i = 0; i < columns; i++) {
      const header = reader.pos;
      reader.string(); // the name
      reader.string();
      const type = reader.buffer.toString('utf8', reader.stringStart(), reader.pos);
      parts.push(reader.since(header), NO_CUSTOM_SERIALIZATION);
      const data = reader.pos;
      if (rows > 0) {
        const parsed = parseType(type);
        skipStatePrefix(reader, parsed);
        skipData(reader, parsed, rows);
      }
      parts.push(reader.since(data));
    }
  }
  return Buffer.concat(parts);
}

const NO_CUSTOM_SERIALIZATION = Buffer.from([0x00]);

class NativeReader {
  pos = 0;
  private lastStringStart = 0;

  constructor(readonly buffer: Buffer) {}

  done(): boolean {
    return this.pos >= this.buffer.length;
  }

  since(start: number): Buffer {
    return this.buffer.subarray(start, this.pos);
  }

  varint(): number {
    let value = 0;
    let shift = 0;
    for (;;) {
      const byte = this.byte();
      value += (byte & 0x7f) * 2 ** shift;
      if ((byte & 0x80) === 0) return value;
      shift += 7;
    }
  }

  uint64(): number {
    this.need(8);
    const value = Number(this.buffer.readBigUInt64LE(this.pos));
    this.pos += 8;
    return value;
  }

  string(): void {
    const length = this.varint();
    this.lastStringStart = this.pos;
    this.skip(length);
  }

  stringStart(): number {
    return this.lastStringStart;
  }

  skip(bytes: number): void {
    this.need(bytes);
    this.pos += bytes;
  }

  private byte(): number {
    this.need(1);
    return this.buffer[this.pos++]!;
  }

  private need(bytes: number): void {
    if (this.pos + bytes > this.buffer.length) throw new ClickHouseError(ErrorCode.NOT_IMPLEMENTED, 'a Native block from the engine ended early: cannot rewrite it for client_protocol_version');
  }
}

interface NativeType {
  name: string;
  args: string[];
}

/** `Name(arg, arg)` split at its top-level commas (quotes and nested parentheses kept whole); a named tuple element loses its name. */
export function parseType(text: string): NativeType {
  const open = text.indexOf('(');
  if (open < 0) return { name: text.trim(), args: [] };
  const args: string[] = [];
  let depth = 0;
  let quote: string | undefined;
  let start = open + 1;
  for (let i = open + 1; i < text.length - 1; i++) {
    const c = text[i]!;
    if (quote) {
      if (c === '\\') i++;
      else if (c === quote) quote = undefined;
    } else if (c === "'" || c === '`') quote = c;
    else if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === ',' && depth === 0) {
      args.push(text.slice(start, i).trim());
      start = i + 1;
    }
  }
  args.push(text.slice(start, text.length - 1).trim());
  return { name: text.slice(0, open).trim(), args: args.map(withoutElementName) };
}

function withoutElementName(arg: string): string {
  return /^(?:`[^`]*`|[A-Za-z_][A-Za-z0-9_]*)\s+(\S[\s\S]*)$/.exec(arg)?.[1] ?? arg;
}

const FIXED_WIDTHS: Record<string, number> = {
  UInt8: 1, Int8: 1, Bool: 1, Enum8: 1, Nothing: 1,
  UInt16: 2, Int16: 2, Date: 2, Enum16: 2, BFloat16: 2,
  UInt32: 4, Int32: 4, Float32: 4, DateTime: 4, Date32: 4, IPv4: 4, Decimal32: 4, Time: 4,
  UInt64: 8, Int64: 8, Float64: 8, DateTime64: 8, Decimal64: 8, Time64: 8,
  UInt128: 16, Int128: 16, UUID: 16, IPv6: 16, Decimal128: 16, Point: 16,
  UInt256: 32, Int256: 32, Decimal256: 32,
};
/** Geo types are arrays of points, nested. */
const GEO_ARRAYS: Record<string, string> = {
  Ring: 'Array(Point)', LineString: 'Array(Point)', Polygon: 'Array(Ring)', MultiLineString: 'Array(LineString)', MultiPolygon: 'Array(Polygon)',
};

/** LowCardinality's key version before its data; the other types that hold one carry their nested types' prefixes. */
function skipStatePrefix(reader: NativeReader, type: NativeType): void {
  if (type.name === 'LowCardinality') reader.skip(8);
  else if (type.name === 'Map') skipStatePrefix(reader, parseType(`Tuple(${type.args.join(', ')})`));
  else if (type.name === 'SimpleAggregateFunction') skipStatePrefix(reader, parseType(type.args[1]!));
  else if (GEO_ARRAYS[type.name]) skipStatePrefix(reader, parseType(GEO_ARRAYS[type.name]!));
  else if (type.name === 'Nullable' || type.name === 'Array' || type.name === 'Tuple') for (const arg of type.args) skipStatePrefix(reader, parseType(arg));
}

function skipData(reader: NativeReader, type: NativeType, rows: number): void {
  if (rows === 0) return;
  const fixed = FIXED_WIDTHS[type.name];
  if (fixed !== undefined) return reader.skip(fixed * rows);
  switch (type.name) {
    case 'String':
      for (let i = 0; i < rows; i++) reader.string();
      return;
    case 'FixedString':
      return reader.skip(Number(type.args[0]) * rows);
    case 'Decimal': {
      const precision = Number(type.args[0]);
      return reader.skip((precision <= 9 ? 4 : precision <= 18 ? 8 : precision <= 38 ? 16 : 32) * rows);
    }
    case 'Nullable':
      reader.skip(rows);
      return skipData(reader, parseType(type.args[0]!), rows);
    case 'Array':
      return skipData(reader, parseType(type.args[0]!), lastOffset(reader, rows));
    case 'Map':
      return skipData(reader, parseType(`Tuple(${type.args.join(', ')})`), lastOffset(reader, rows));
    case 'Tuple':
      for (const arg of type.args) skipData(reader, parseType(arg), rows);
      return;
    case 'SimpleAggregateFunction':
      return skipData(reader, parseType(type.args[1]!), rows);
    case 'LowCardinality':
      return skipLowCardinality(reader, parseType(type.args[0]!), rows);
    default:
      if (GEO_ARRAYS[type.name]) return skipData(reader, parseType(GEO_ARRAYS[type.name]!), rows);
      throw new ClickHouseError(
        ErrorCode.NOT_IMPLEMENTED,
        `a ${type.name} column cannot be sent as Native to a client that asks client_protocol_version (clickhouse-go, Grafana): cast it (toString(…)) or ask for another format`,
      );
  }
}

/** Array offsets are cumulative UInt64s: the last is the number of nested values. */
function lastOffset(reader: NativeReader, rows: number): number {
  reader.skip(8 * (rows - 1));
  return reader.uint64();
}

const LOW_CARDINALITY_INDEX_WIDTH = [1, 2, 4, 8];
const HAS_ADDITIONAL_KEYS = 1 << 9;
const NEEDS_GLOBAL_DICTIONARY = 1 << 8;

/** Parts of (index type, keys of the part's dictionary, indexes) until `rows` indexes are read. */
function skipLowCardinality(reader: NativeReader, nested: NativeType, rows: number): void {
  const dictionary = nested.name === 'Nullable' ? parseType(nested.args[0]!) : nested;
  for (let read = 0; read < rows; ) {
    const indexType = reader.uint64();
    if (indexType & NEEDS_GLOBAL_DICTIONARY) throw new ClickHouseError(ErrorCode.NOT_IMPLEMENTED, 'a LowCardinality column with a global dictionary cannot be rewritten for client_protocol_version');
    if (indexType & HAS_ADDITIONAL_KEYS) skipData(reader, dictionary, reader.uint64());
    const indexes = reader.uint64();
    reader.skip(indexes * LOW_CARDINALITY_INDEX_WIDTH[indexType & 0xff]!);
    read += indexes;
  }
}
