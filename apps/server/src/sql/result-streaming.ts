/**
 * chdb streams a SELECT as blocks of rows, each formatted on its own: what a client receives is
 * their concatenation. That is one correct result only for formats whose output is a sequence of
 * rows (or, like Pretty, of blocks, as ClickHouse itself prints them); a header per block, a
 * wrapper (JSON's meta/data) or a file format (Parquet) would come out once per block.
 */
export interface ResultStreaming {
  /** Sent chunk by chunk as the engine makes them; otherwise made whole first. */
  streamed: boolean;
  /** Lines of header each chunk starts with, kept only in the first. */
  headerLines: number;
}

const ROW_FORMATS = new Set([
  'TabSeparated', 'TSV', 'TabSeparatedRaw', 'TSVRaw', 'CSV', 'JSONEachRow', 'JSONLines', 'NDJSON',
  'JSONCompactEachRow', 'JSONStringsEachRow', 'JSONCompactStringsEachRow', 'RowBinary', 'Native', 'LineAsString',
  // one table per block is how ClickHouse prints these too (the MonoBlock variants are one table)
  'Pretty', 'PrettyCompact', 'PrettySpace', 'PrettyNoEscapes', 'PrettyCompactNoEscapes', 'PrettySpaceNoEscapes',
]);

/** Row formats with a text header of one line (names) or two (names and types). */
const HEADER_LINES: Record<string, number> = {
  CSVWithNames: 1, CSVWithNamesAndTypes: 2,
  TabSeparatedWithNames: 1, TSVWithNames: 1, TabSeparatedWithNamesAndTypes: 2, TSVWithNamesAndTypes: 2,
  TabSeparatedRawWithNames: 1, TSVRawWithNames: 1, TabSeparatedRawWithNamesAndTypes: 2, TSVRawWithNamesAndTypes: 2,
  JSONCompactEachRowWithNames: 1, JSONCompactEachRowWithNamesAndTypes: 2,
  JSONCompactStringsEachRowWithNames: 1, JSONCompactStringsEachRowWithNamesAndTypes: 2,
};

export function resultStreaming(format: string): ResultStreaming {
  if (ROW_FORMATS.has(format)) return { streamed: true, headerLines: 0 };
  const headerLines = HEADER_LINES[format];
  return headerLines === undefined ? { streamed: false, headerLines: 0 } : { streamed: true, headerLines };
}

/**
 * Keeps the header of the first chunk and drops the same bytes from the start of every later one,
 * so a streamed `…WithNames` result has one header.
 */
export class HeaderOnce {
  private header: Buffer | undefined;

  constructor(private readonly headerLines: number) {}

  pass(chunk: Buffer): Buffer {
    if (this.headerLines === 0) return chunk;
    if (!this.header) {
      let end = 0;
      for (let line = 0; line < this.headerLines; line++) end = chunk.indexOf(0x0a, end) + 1;
      this.header = chunk.subarray(0, end);
      return chunk;
    }
    return chunk.subarray(0, this.header.length).equals(this.header) ? chunk.subarray(this.header.length) : chunk;
  }
}
