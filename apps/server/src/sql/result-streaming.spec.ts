import { HeaderOnce, resultStreaming } from './result-streaming';

describe('result streaming', () => {
  it('streams row formats and Pretty as they come, makes wrapped and file formats whole', () => {
    expect(resultStreaming('JSONEachRow')).toEqual({ streamed: true, headerLines: 0 });
    expect(resultStreaming('PrettyCompact')).toEqual({ streamed: true, headerLines: 0 });
    expect(resultStreaming('CSVWithNames')).toEqual({ streamed: true, headerLines: 1 });
    expect(resultStreaming('TSVWithNamesAndTypes')).toEqual({ streamed: true, headerLines: 2 });
    for (const whole of ['Parquet', 'JSON', 'JSONCompact', 'PrettyCompactMonoBlock', 'Arrow', 'Avro', 'XML', 'RowBinaryWithNames', 'Values']) {
      expect(resultStreaming(whole)).toEqual({ streamed: false, headerLines: 0 });
    }
  });

  it('keeps one header: the first chunk whole, the same header cut from the next ones', () => {
    const once = new HeaderOnce(2);
    const chunks = ['"n","s"\n"UInt64","String"\n0,"a"\n', '"n","s"\n"UInt64","String"\n1,"b"\n', '"n","s"\n"UInt64","String"\n2,"c"\n'];
    expect(chunks.map((chunk) => once.pass(Buffer.from(chunk)).toString()).join('')).toBe('"n","s"\n"UInt64","String"\n0,"a"\n1,"b"\n2,"c"\n');
  });

  it('passes a chunk that does not start with the header unchanged, and every chunk without one', () => {
    const once = new HeaderOnce(1);
    expect(once.pass(Buffer.from('"n"\n0\n')).toString()).toBe('"n"\n0\n');
    expect(once.pass(Buffer.from('1\n')).toString()).toBe('1\n');
    expect(new HeaderOnce(0).pass(Buffer.from('"n"\n0\n')).toString()).toBe('"n"\n0\n');
  });
});
